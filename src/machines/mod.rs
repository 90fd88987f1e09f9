//! The Machines operations: [`Machines`], reached with [`Clerk::machines`].
//!
//! Methods are named after what they do and take the required arguments;
//! those with options return a request builder ([`CreateMachine`],
//! [`ListMachines`], [`UpdateMachine`]) that you `.await` directly or finish
//! with `.send()`. Every call checks its arguments against the rules of the
//! spec the client was generated from ([`spec`](crate::spec)) first and returns
//! [`Error::InvalidInput`](crate::Error::InvalidInput) without sending
//! anything when they fail.

mod create;
mod list;
mod update;

pub use create::CreateMachine;
pub use list::{ListMachines, MachineFilters, MachineOrder, MachineOrderField, SortDirection};
pub use update::UpdateMachine;

use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::pagination::List;
use crate::request::call;
use crate::validate;
use std::time::Duration;

/// The Machines operations of a [`Clerk`] client; get one with [`Clerk::machines`].
#[derive(Clone, Copy, Debug)]
pub struct Machines<'a> {
    clerk: &'a Clerk,
}

impl<'a> Machines<'a> {
    pub(crate) fn new(clerk: &'a Clerk) -> Self {
        Self { clerk }
    }

    /// Creates a machine, like Clerk's `machines.create()`: a `name`, the ids
    /// of the machines it may call and, optionally, the default lifetime of
    /// its tokens (whole seconds; `None` leaves Clerk's default), each
    /// within the limits the spec states for `CreateMachine`
    /// (`spec::operation("CreateMachine")`).
    ///
    /// The response carries the machine's secret key, which Clerk returns
    /// only here. The builder can take more scoped machines before it is awaited.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use std::time::Duration;
    ///
    /// let created = clerk
    ///     .machines()
    ///     .create("billing-worker", ["mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"], Some(Duration::from_secs(600)))
    ///     .await?;
    /// let secret = created.secret_key.expose_secret(); // store it: Clerk shows it once
    /// # let _ = secret; Ok(()) }
    /// ```
    pub fn create<I, S>(
        self,
        name: impl Into<String>,
        scoped_machines: I,
        default_token_ttl: Option<Duration>,
    ) -> CreateMachine<'a>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CreateMachine::new(self.clerk, name.into(), scoped_machines, default_token_ttl)
    }

    /// Lists machines: one page when awaited, every page with
    /// [`into_stream`](ListMachines::into_stream).
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use clerk_machines::machines::MachineOrder;
    /// use futures::TryStreamExt;
    ///
    /// let page = clerk.machines().list().query("worker").limit(20).order_by(MachineOrder::NAME_ASC).await?;
    /// println!("{} of {}", page.items.len(), page.total_count);
    /// let all: Vec<_> = clerk.machines().list().into_stream().try_collect().await?;
    /// # let _ = all; Ok(()) }
    /// ```
    pub fn list(self) -> ListMachines<'a> {
        List::new(self.clerk, MachineFilters::default())
    }

    /// The machine with this id.
    pub async fn get(self, machine_id: &str) -> Result<types::Machine> {
        validate::input("GetMachine").id("machine_id", machine_id)?;
        call(|| self.clerk.raw().get_machine().machine_id(machine_id).send()).await
    }

    /// Changes a machine's name and/or default token lifetime; only what is
    /// set on the returned builder is sent.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// let machine = clerk.machines().update("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk").name("renamed").await?;
    /// # let _ = machine; Ok(()) }
    /// ```
    pub fn update(self, machine_id: impl Into<String>) -> UpdateMachine<'a> {
        UpdateMachine::new(self.clerk, machine_id.into())
    }

    /// Deletes a machine. Clerk also removes the scopes that pointed at it.
    pub async fn delete(self, machine_id: &str) -> Result<types::DeleteMachineResponse> {
        validate::input("DeleteMachine").id("machine_id", machine_id)?;
        call(|| self.clerk.raw().delete_machine().machine_id(machine_id).send()).await
    }

    /// The machine's current secret key (`ak_...`).
    pub async fn secret_key(self, machine_id: &str) -> Result<types::GetMachineSecretKeyResponse> {
        validate::input("GetMachineSecretKey").id("machine_id", machine_id)?;
        call(|| self.clerk.raw().get_machine_secret_key().machine_id(machine_id).send()).await
    }

    /// Replaces the machine's secret key. The previous key keeps working for
    /// `previous_key_ttl` (whole seconds, within the spec's bounds for
    /// `previous_token_ttl`; zero ends it at once) so that callers can switch over.
    pub async fn rotate_secret_key(
        self,
        machine_id: &str,
        previous_key_ttl: Duration,
    ) -> Result<types::RotateMachineSecretKeyResponse> {
        let input = validate::input("RotateMachineSecretKey");
        input.id("machine_id", machine_id)?;
        let seconds = input.seconds("previous_token_ttl", previous_key_ttl)?;
        let body = types::RotateMachineSecretKeyBody::builder().previous_token_ttl(seconds as i64);
        call(|| self.clerk.raw().rotate_machine_secret_key().machine_id(machine_id).body(body.clone()).send())
            .await
    }

    /// Lets machine `from` call machine `to`. Clerk answers 409 when the scope exists.
    pub async fn add_scope(self, from: &str, to: &str) -> Result<types::MachineScope> {
        let input = validate::input("CreateMachineScope");
        input.id("machine_id", from)?;
        input.id("to_machine_id", to)?;
        let body = types::CreateMachineScopeBody::builder().to_machine_id(to);
        call(|| self.clerk.raw().create_machine_scope().machine_id(from).body(body.clone()).send()).await
    }

    /// Stops machine `from` from calling machine `to`.
    pub async fn remove_scope(self, from: &str, to: &str) -> Result<types::DeleteMachineScopeResponse> {
        let input = validate::input("DeleteMachineScope");
        input.id("machine_id", from)?;
        input.id("other_machine_id", to)?;
        call(|| self.clerk.raw().delete_machine_scope().machine_id(from).other_machine_id(to).send()).await
    }
}
