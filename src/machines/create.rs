//! [`CreateMachine`]: the request [`Machines::create`](super::Machines::create) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::request::call;
use crate::validate;
use std::time::Duration;

/// A machine to create; `.await` it (or call [`send`](Self::send)).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct CreateMachine<'a> {
    clerk: &'a Clerk,
    name: String,
    scoped_machines: Vec<String>,
    default_token_ttl: Option<Duration>,
}

impl<'a> CreateMachine<'a> {
    pub(super) fn new<I, S>(
        clerk: &'a Clerk,
        name: String,
        scoped_machines: I,
        default_token_ttl: Option<Duration>,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scoped_machines = scoped_machines.into_iter().map(Into::into).collect();
        Self { clerk, name, scoped_machines, default_token_ttl }
    }

    /// Adds one machine this machine may call (as many in all as the spec's
    /// `maxItems` for `scoped_machines` allows).
    pub fn scoped_machine(mut self, machine_id: impl Into<String>) -> Self {
        self.scoped_machines.push(machine_id.into());
        self
    }

    /// Sets the default lifetime of the machine's tokens, in whole seconds
    /// within the spec's bounds for `default_token_ttl`. Unset, Clerk applies
    /// the spec's default.
    pub fn default_token_ttl(mut self, ttl: Duration) -> Self {
        self.default_token_ttl = Some(ttl);
        self
    }

    /// Validates and sends the request.
    pub async fn send(self) -> Result<types::CreateMachineResponse> {
        let input = validate::input("CreateMachine");
        input.text("name", &self.name)?;
        input.ids("scoped_machines", &self.scoped_machines)?;
        let mut body = types::CreateMachineBody::builder().name(self.name.as_str());
        if !self.scoped_machines.is_empty() {
            body = body.scoped_machines(self.scoped_machines);
        }
        if let Some(ttl) = self.default_token_ttl {
            body = body.default_token_ttl(Some(input.positive_seconds("default_token_ttl", ttl)?));
        }
        call(|| self.clerk.raw().create_machine().body(body.clone()).send()).await
    }
}

crate::await_via_send!(CreateMachine => types::CreateMachineResponse);
