//! [`UpdateMachine`]: the request [`Machines::update`](super::Machines::update) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::request::call;
use crate::validate;
use std::time::Duration;

/// Changes to a machine; only the fields set are sent. `.await` it (or call
/// [`send`](Self::send)).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct UpdateMachine<'a> {
    clerk: &'a Clerk,
    machine_id: String,
    name: Option<String>,
    default_token_ttl: Option<Duration>,
}

impl<'a> UpdateMachine<'a> {
    pub(super) fn new(clerk: &'a Clerk, machine_id: String) -> Self {
        Self { clerk, machine_id, name: None, default_token_ttl: None }
    }

    /// The new name (within the spec's length limits).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The new default lifetime of the machine's tokens (whole seconds,
    /// within the spec's bounds).
    pub fn default_token_ttl(mut self, ttl: Duration) -> Self {
        self.default_token_ttl = Some(ttl);
        self
    }

    /// Validates and sends the request; an update that sets nothing is refused.
    pub async fn send(self) -> Result<types::Machine> {
        let input = validate::input("UpdateMachine");
        input.id("machine_id", &self.machine_id)?;
        if self.name.is_none() && self.default_token_ttl.is_none() {
            return Err(Error::invalid("update", "sets neither name nor default_token_ttl"));
        }
        let mut body = types::UpdateMachineBody::builder();
        if let Some(name) = self.name {
            input.text("name", &name)?;
            body = body.name(Some(name));
        }
        if let Some(ttl) = self.default_token_ttl {
            body = body.default_token_ttl(Some(input.positive_seconds("default_token_ttl", ttl)?));
        }
        call(|| {
            self.clerk.raw().update_machine().machine_id(self.machine_id.as_str()).body(body.clone()).send()
        })
        .await
    }
}

crate::await_via_send!(UpdateMachine => types::Machine);
