//! [`CreateMachine`]: the request [`Machines::create`](super::Machines::create) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::limits::MAX_SCOPED_MACHINES;
use crate::request::send;
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

    /// Adds one machine this machine may call (at most 150 in all).
    pub fn scoped_machine(mut self, machine_id: impl Into<String>) -> Self {
        self.scoped_machines.push(machine_id.into());
        self
    }

    /// Sets the default lifetime of the machine's tokens (whole seconds, 1 s
    /// to ten years). Unset, Clerk applies its default of one hour.
    pub fn default_token_ttl(mut self, ttl: Duration) -> Self {
        self.default_token_ttl = Some(ttl);
        self
    }

    /// Validates and sends the request.
    pub async fn send(self) -> Result<types::CreateMachineResponse> {
        validate::name("name", &self.name)?;
        validate::ids("scoped_machines", &self.scoped_machines, MAX_SCOPED_MACHINES)?;
        let mut body = types::CreateMachineBody::builder().name(self.name.as_str());
        if !self.scoped_machines.is_empty() {
            body = body.scoped_machines(self.scoped_machines);
        }
        if let Some(ttl) = self.default_token_ttl {
            body = body.default_token_ttl(Some(validate::token_ttl(ttl)?));
        }
        send(Box::pin(self.clerk.raw().create_machine().body(body).send())).await
    }
}

crate::await_via_send!(CreateMachine => types::CreateMachineResponse);
