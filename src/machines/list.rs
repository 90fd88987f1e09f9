//! [`ListMachines`]: the request [`Machines::list`](super::Machines::list) returns.

use crate::api::types;
use crate::client::Clerk;
use crate::error::Result;
use crate::pagination::{List, Listing};
use crate::validate;
use futures::future::BoxFuture;
use std::num::NonZeroU64;

/// A machine list: filters and paging. `.await` it for one page, or call
/// [`into_stream`](List::into_stream) for every machine.
pub type ListMachines<'a> = List<'a, MachineFilters>;

/// The filters of a [`ListMachines`]; set them with its methods.
#[derive(Clone, Debug, Default)]
pub struct MachineFilters {
    query: Option<String>,
    order_by: Option<MachineOrder>,
}

impl ListMachines<'_> {
    /// Only machines whose id is `query` or whose name contains it.
    pub fn query(self, query: impl Into<String>) -> Self {
        self.filter(|filters| filters.query = Some(query.into()))
    }

    /// The sort order (Clerk's default is newest first).
    pub fn order_by(self, order: MachineOrder) -> Self {
        self.filter(|filters| filters.order_by = Some(order))
    }
}

impl Listing for MachineFilters {
    type Item = types::Machine;
    const OPERATION: &'static str = "ListMachines";

    fn fetch<'a>(
        &'a self,
        clerk: &'a Clerk,
        limit: Option<NonZeroU64>,
        offset: u64,
    ) -> BoxFuture<'a, Result<(Vec<types::Machine>, f64)>> {
        Box::pin(async move {
            let input = validate::input(Self::OPERATION);
            let mut request = clerk.raw().list_machines();
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            if offset != 0 {
                request = request.offset(offset);
            }
            if let Some(query) = &self.query {
                input.text("query", query)?;
                request = request.query(query.as_str());
            }
            if let Some(order) = self.order_by {
                let order = order.to_string();
                input.text("order_by", &order)?;
                request = request.order_by(order);
            }
            let page = crate::request::call(|| request.clone().send()).await?;
            Ok((page.data, page.total_count as f64))
        })
    }
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
