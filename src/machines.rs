//! The Machines operations: create, list, get, update, delete, secret keys and scopes.

use crate::api::types;
use crate::client::Clerk;
use crate::error::{Error, Result};
use crate::pagination::{offset_stream, Page};
use crate::transport::send;
use crate::validate::{
    self, MAX_DEFAULT_TOKEN_TTL, MAX_MACHINES_PAGE, MAX_PREVIOUS_KEY_TTL, MAX_SCOPED_MACHINES,
};
use futures::{FutureExt, Stream};
use std::time::Duration;

/// Page size [`Machines::list_all`] uses when the parameters set none.
pub const DEFAULT_LIST_ALL_PAGE_SIZE: u32 = 100;

/// The Machines operations of a [`Clerk`] client; get one with [`Clerk::machines`].
///
/// Every method validates its arguments against the spec's limits first and
/// returns [`Error::InvalidInput`] without sending anything when they fail.
#[derive(Clone, Copy, Debug)]
pub struct Machines<'a> {
    clerk: &'a Clerk,
}

impl<'a> Machines<'a> {
    pub(crate) fn new(clerk: &'a Clerk) -> Self {
        Self { clerk }
    }

    /// Creates a machine, like Clerk's `machines.create()`: a `name`
    /// (1 to 255 characters), the ids of the machines it may call (at most
    /// 150) and, optionally, the default lifetime of its tokens (whole seconds,
    /// 1 s to ten years; when `None` Clerk applies its default of one hour).
    ///
    /// The response carries the machine's secret key, which Clerk returns only here.
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
    pub async fn create<I, S>(
        self,
        name: &str,
        scoped_machines: I,
        default_token_ttl: Option<Duration>,
    ) -> Result<types::CreateMachineResponse>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut request = self.create_request(name).scoped_machines(scoped_machines);
        request.default_token_ttl = default_token_ttl;
        request.send().await
    }

    /// The builder form of [`Machines::create`]: set only what you need, then `send()`.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// let created = clerk
    ///     .machines()
    ///     .create_request("billing-worker")
    ///     .scoped_machine("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk")
    ///     .send()
    ///     .await?;
    /// # let _ = created; Ok(()) }
    /// ```
    pub fn create_request(self, name: impl Into<String>) -> CreateMachineRequest<'a> {
        CreateMachineRequest {
            clerk: self.clerk,
            name: name.into(),
            scoped_machines: Vec::new(),
            default_token_ttl: None,
        }
    }

    /// One page of machines.
    pub async fn list(self, params: &ListMachinesParams) -> Result<Page<types::Machine>> {
        list_page(self.clerk, params, params.offset).await
    }

    /// Every machine matching `params`, as a stream that fetches pages of
    /// `params.limit` (default [`DEFAULT_LIST_ALL_PAGE_SIZE`]) from
    /// `params.offset` until the server's `total_count` is reached.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use clerk_machines::ListMachinesParams;
    /// use futures::TryStreamExt;
    ///
    /// let all: Vec<_> = clerk.machines().list_all(ListMachinesParams::new()).try_collect().await?;
    /// # let _ = all; Ok(()) }
    /// ```
    pub fn list_all(
        self,
        params: ListMachinesParams,
    ) -> impl Stream<Item = Result<types::Machine>> + Send + 'static {
        let clerk = self.clerk.clone();
        let mut params = params;
        params.limit = Some(params.limit.unwrap_or(DEFAULT_LIST_ALL_PAGE_SIZE));
        let first = params.offset;
        offset_stream(first, move |offset| {
            let clerk = clerk.clone();
            let params = params.clone();
            async move { list_page(&clerk, &params, offset).await }.boxed()
        })
    }

    /// The machine with this id.
    pub async fn get(self, machine_id: &str) -> Result<types::Machine> {
        validate::id("machine_id", machine_id)?;
        send(self.clerk.raw().get_machine().machine_id(machine_id).send()).await
    }

    /// Changes a machine's name and/or default token lifetime; only the fields
    /// set on `update` are sent.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_machines::Clerk) -> Result<(), clerk_machines::Error> {
    /// use clerk_machines::MachineUpdate;
    ///
    /// let machine = clerk
    ///     .machines()
    ///     .update("mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk", MachineUpdate::new().name("renamed"))
    ///     .await?;
    /// # let _ = machine; Ok(()) }
    /// ```
    pub async fn update(self, machine_id: &str, update: MachineUpdate) -> Result<types::Machine> {
        validate::id("machine_id", machine_id)?;
        let body = update.into_body()?;
        send(self.clerk.raw().update_machine().machine_id(machine_id).body(body).send()).await
    }

    /// Deletes a machine. Clerk also removes the scopes that pointed at it.
    pub async fn delete(self, machine_id: &str) -> Result<types::DeleteMachineResponse> {
        validate::id("machine_id", machine_id)?;
        send(self.clerk.raw().delete_machine().machine_id(machine_id).send()).await
    }

    /// The machine's current secret key (`ak_...`).
    pub async fn secret_key(self, machine_id: &str) -> Result<types::GetMachineSecretKeyResponse> {
        validate::id("machine_id", machine_id)?;
        send(self.clerk.raw().get_machine_secret_key().machine_id(machine_id).send()).await
    }

    /// Replaces the machine's secret key. The previous key keeps working for
    /// `previous_key_ttl` (whole seconds, zero to eight hours) so that callers
    /// can switch over.
    pub async fn rotate_secret_key(
        self,
        machine_id: &str,
        previous_key_ttl: Duration,
    ) -> Result<types::RotateMachineSecretKeyResponse> {
        validate::id("machine_id", machine_id)?;
        let seconds =
            validate::seconds("previous_key_ttl", previous_key_ttl, Duration::ZERO, MAX_PREVIOUS_KEY_TTL)?;
        let body = types::RotateMachineSecretKeyBody::builder().previous_token_ttl(seconds as i64);
        send(self.clerk.raw().rotate_machine_secret_key().machine_id(machine_id).body(body).send()).await
    }

    /// Lets machine `from` call machine `to`. Clerk answers 409 when the scope exists.
    pub async fn add_scope(self, from: &str, to: &str) -> Result<types::MachineScope> {
        validate::id("from", from)?;
        validate::id("to", to)?;
        let body = types::CreateMachineScopeBody::builder().to_machine_id(to);
        send(self.clerk.raw().create_machine_scope().machine_id(from).body(body).send()).await
    }

    /// Stops machine `from` from calling machine `to`.
    pub async fn remove_scope(self, from: &str, to: &str) -> Result<types::DeleteMachineScopeResponse> {
        validate::id("from", from)?;
        validate::id("to", to)?;
        send(self.clerk.raw().delete_machine_scope().machine_id(from).other_machine_id(to).send()).await
    }
}

async fn list_page(clerk: &Clerk, params: &ListMachinesParams, offset: u64) -> Result<Page<types::Machine>> {
    let mut request = clerk.raw().list_machines();
    if let Some(limit) = params.limit {
        request = request.limit(validate::limit(limit, MAX_MACHINES_PAGE)?);
    }
    if offset != 0 {
        request = request.offset(offset);
    }
    if let Some(query) = &params.query {
        request = request.query(query.as_str());
    }
    if let Some(order) = params.order_by {
        request = request.order_by(order.to_string());
    }
    let page = send(request.send()).await?;
    Ok(Page::new(page.data, u64::try_from(page.total_count).unwrap_or(0)))
}

/// A machine to create: the builder form of [`Machines::create`].
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until `send()` is awaited"]
pub struct CreateMachineRequest<'a> {
    clerk: &'a Clerk,
    name: String,
    scoped_machines: Vec<String>,
    default_token_ttl: Option<Duration>,
}

impl CreateMachineRequest<'_> {
    /// Adds one machine this machine may call.
    pub fn scoped_machine(mut self, machine_id: impl Into<String>) -> Self {
        self.scoped_machines.push(machine_id.into());
        self
    }

    /// Adds machines this machine may call (at most 150 in all).
    pub fn scoped_machines<I, S>(mut self, machine_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scoped_machines.extend(machine_ids.into_iter().map(Into::into));
        self
    }

    /// Default lifetime of the machine's tokens (whole seconds, 1 s to ten
    /// years). Unset, Clerk applies its default of one hour.
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
            body = body.default_token_ttl(Some(token_ttl(ttl)?));
        }
        send(self.clerk.raw().create_machine().body(body).send()).await
    }
}

/// A `default_token_ttl` within the spec's range, as the generated type.
fn token_ttl(ttl: Duration) -> Result<std::num::NonZeroU64> {
    let seconds = validate::seconds("default_token_ttl", ttl, Duration::from_secs(1), MAX_DEFAULT_TOKEN_TTL)?;
    std::num::NonZeroU64::new(seconds)
        .ok_or_else(|| Error::invalid("default_token_ttl", "must be at least 1 second"))
}

/// Changes to a machine, for [`Machines::update`]. Only the fields set are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MachineUpdate {
    /// The new name (1 to 255 characters).
    pub name: Option<String>,
    /// The new default lifetime of the machine's tokens.
    pub default_token_ttl: Option<Duration>,
}

impl MachineUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the new name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the new default token lifetime (whole seconds, 1 s to ten years).
    pub fn default_token_ttl(mut self, ttl: Duration) -> Self {
        self.default_token_ttl = Some(ttl);
        self
    }

    fn into_body(self) -> Result<types::builder::UpdateMachineBody> {
        if self.name.is_none() && self.default_token_ttl.is_none() {
            return Err(Error::invalid("update", "sets neither name nor default_token_ttl"));
        }
        let mut body = types::UpdateMachineBody::builder();
        if let Some(name) = self.name {
            validate::name("name", &name)?;
            body = body.name(Some(
                types::UpdateMachineBodyName::try_from(name)
                    .map_err(|e| Error::invalid("name", e.to_string()))?,
            ));
        }
        if let Some(ttl) = self.default_token_ttl {
            body = body.default_token_ttl(Some(token_ttl(ttl)?));
        }
        Ok(body)
    }
}

/// Filters and paging for [`Machines::list`] and [`Machines::list_all`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMachinesParams {
    /// Page size, 1 to 500 (Clerk's default is 10).
    pub limit: Option<u32>,
    /// How many machines to skip.
    pub offset: u64,
    /// Exact machine id, or part of a name.
    pub query: Option<String>,
    /// Sort order (Clerk's default is newest first).
    pub order_by: Option<MachineOrder>,
}

impl ListMachinesParams {
    /// No filter, Clerk's default page size and order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size (1 to 500).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `offset` machines.
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Only machines whose id is `query` or whose name contains it.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Sets the sort order.
    pub fn order_by(mut self, order: MachineOrder) -> Self {
        self.order_by = Some(order);
        self
    }
}

/// A sort order for machine lists: a field and a direction.
///
/// ```
/// use clerk_machines::{MachineOrder, MachineOrderField, SortDirection};
///
/// let order = MachineOrder::new(MachineOrderField::Name, SortDirection::Ascending);
/// assert_eq!(order.to_string(), "+name");
/// assert_eq!(MachineOrder::default().to_string(), "-created_at");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MachineOrder {
    /// What to sort by.
    pub field: MachineOrderField,
    /// Which way.
    pub direction: SortDirection,
}

impl MachineOrder {
    /// An order from its parts.
    pub fn new(field: MachineOrderField, direction: SortDirection) -> Self {
        Self { field, direction }
    }
}

/// Clerk's default: newest first.
impl Default for MachineOrder {
    fn default() -> Self {
        Self::new(MachineOrderField::CreatedAt, SortDirection::Descending)
    }
}

impl std::fmt::Display for MachineOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = match self.direction {
            SortDirection::Ascending => '+',
            SortDirection::Descending => '-',
        };
        let field = match self.field {
            MachineOrderField::Name => "name",
            MachineOrderField::CreatedAt => "created_at",
        };
        write!(f, "{sign}{field}")
    }
}

/// The fields machine lists can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MachineOrderField {
    /// The machine's name.
    Name,
    /// When the machine was created.
    CreatedAt,
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}
