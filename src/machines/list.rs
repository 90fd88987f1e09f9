//! [`ListMachines`]: the request [`Machines::list`](super::Machines::list)
//! returns, and the sort order it takes.

use crate::api::types;
use crate::client::Clerk;
use crate::defaults::MACHINES_STREAM_PAGE;
use crate::error::Result;
use crate::limits::MAX_MACHINES_PAGE;
use crate::pagination::{offset_stream, Page};
use crate::request::send;
use crate::validate;
use futures::{FutureExt, Stream};

/// A machine list: filters and paging. `.await` it for one page, or call
/// [`into_stream`](Self::into_stream) for every machine.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is awaited"]
pub struct ListMachines<'a> {
    clerk: &'a Clerk,
    limit: Option<u32>,
    offset: u64,
    query: Option<String>,
    order_by: Option<MachineOrder>,
}

impl<'a> ListMachines<'a> {
    pub(super) fn new(clerk: &'a Clerk) -> Self {
        Self { clerk, limit: None, offset: 0, query: None, order_by: None }
    }

    /// Page size, 1 to 500 (Clerk's default is 10; the stream's is 100).
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

    /// The sort order (Clerk's default is newest first).
    pub fn order_by(mut self, order: MachineOrder) -> Self {
        self.order_by = Some(order);
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<Page<types::Machine>> {
        fetch_page(self.clerk, &Params::from(&self), self.offset).await
    }

    /// Every machine matching the filters, from the offset on, as a stream
    /// that fetches pages of the limit (default 100) until Clerk's
    /// `total_count` is reached. The first error ends the stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<types::Machine>> + Send + 'static {
        let clerk = self.clerk.clone();
        let mut params = Params::from(&self);
        params.limit = Some(params.limit.unwrap_or(MACHINES_STREAM_PAGE));
        offset_stream(self.offset, move |offset| {
            let (clerk, params) = (clerk.clone(), params.clone());
            async move { fetch_page(&clerk, &params, offset).await }.boxed()
        })
    }
}

crate::await_via_send!(ListMachines => Page<types::Machine>);

/// The filters of a [`ListMachines`], owned, for the stream's page fetches.
#[derive(Clone)]
struct Params {
    limit: Option<u32>,
    query: Option<String>,
    order_by: Option<MachineOrder>,
}

impl From<&ListMachines<'_>> for Params {
    fn from(list: &ListMachines<'_>) -> Self {
        Self { limit: list.limit, query: list.query.clone(), order_by: list.order_by }
    }
}

async fn fetch_page(clerk: &Clerk, params: &Params, offset: u64) -> Result<Page<types::Machine>> {
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
    let page = send(Box::pin(request.send())).await?;
    Ok(Page::new(page.data, u64::try_from(page.total_count).unwrap_or(0)))
}

/// A sort order for machine lists: a field and a direction.
///
/// ```
/// use clerk_machines::machines::{MachineOrder, MachineOrderField, SortDirection};
///
/// let order = MachineOrder::new(MachineOrderField::Name, SortDirection::Ascending);
/// assert_eq!(order, MachineOrder::NAME_ASC);
/// assert_eq!(order.to_string(), "+name");
/// assert_eq!(MachineOrder::default().to_string(), "-created_at");
/// assert_eq!("-name".parse(), Ok(MachineOrder::NAME_DESC));
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
    /// Newest first (Clerk's default).
    pub const NEWEST_FIRST: Self = Self::new(MachineOrderField::CreatedAt, SortDirection::Descending);
    /// Oldest first.
    pub const OLDEST_FIRST: Self = Self::new(MachineOrderField::CreatedAt, SortDirection::Ascending);
    /// By name, A to Z.
    pub const NAME_ASC: Self = Self::new(MachineOrderField::Name, SortDirection::Ascending);
    /// By name, Z to A.
    pub const NAME_DESC: Self = Self::new(MachineOrderField::Name, SortDirection::Descending);

    /// An order from its parts.
    pub const fn new(field: MachineOrderField, direction: SortDirection) -> Self {
        Self { field, direction }
    }
}

/// Clerk's default: newest first.
impl Default for MachineOrder {
    fn default() -> Self {
        Self::NEWEST_FIRST
    }
}

/// Clerk's syntax: `+name`, `-created_at`.
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

/// Parses Clerk's syntax: a field (`name`, `created_at`), optionally after
/// `+` (ascending, the default) or `-` (descending).
impl std::str::FromStr for MachineOrder {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        let (direction, field) = match text.strip_prefix('-') {
            Some(field) => (SortDirection::Descending, field),
            None => (SortDirection::Ascending, text.strip_prefix('+').unwrap_or(text)),
        };
        let field = match field {
            "name" => MachineOrderField::Name,
            "created_at" => MachineOrderField::CreatedAt,
            _ => return Err(format!("`{text}`: expected name or created_at, optionally prefixed by + or -")),
        };
        Ok(Self::new(field, direction))
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
