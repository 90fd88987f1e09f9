//! What the client was generated from: the spec's version, file and
//! operations, and the rules of each operation's input as the spec states them.
//!
//! `build.rs` writes these from the spec it generated the client from (the
//! newest `openapi/*.yml`, or the file named by `CLERK_BAPI_SPEC`), so they
//! always describe the generated code. Every limit, pattern and enum the
//! crate checks before sending (and the fake Clerk enforces) is read from
//! here: a new spec that moves a limit moves it everywhere. A form or a CLI
//! can show the same limits:
//!
//! ```
//! use clerk_machines::spec;
//!
//! let get = spec::operation("GetMachine").expect("generated");
//! assert_eq!((get.method, get.path), ("GET", "/machines/{machine_id}"));
//! assert!(get.error_statuses().any(|status| status == 404));
//!
//! let name = spec::operation("CreateMachine").and_then(|op| op.field("name")).expect("stated");
//! assert!(name.required);
//! println!("a machine name has at most {:?} characters", name.rules.max_length);
//! assert!(name.check_str("").is_err());
//! ```

mod check;

pub use check::Violation;

/// One operation of the generated client.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId` (`CreateMachine`, `createM2MToken`, ...).
    pub id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template relative to the base URL, as in the spec (`/machines/{machine_id}`).
    pub path: &'static str,
    /// The spec's tags of the operation.
    pub tags: &'static [&'static str],
    /// Every response status the spec documents for it, ascending.
    pub statuses: &'static [u16],
    /// Its parameters (in the spec's order), then its JSON request body's
    /// top-level fields (by name).
    pub fields: &'static [Field],
    /// Whether the request body's schema is closed (`additionalProperties:
    /// false`): a field it does not list is refused.
    pub closed_body: bool,
}

impl Operation {
    /// The documented error statuses (400 and above).
    pub fn error_statuses(&self) -> impl Iterator<Item = u16> + 'static {
        self.statuses.iter().copied().filter(|status| *status >= 400)
    }

    /// The parameter or body field named `name` (parameters first, should a
    /// name be both).
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// Where in a request a [`Field`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Location {
    /// A segment of the path (`/machines/{machine_id}`).
    Path,
    /// A query parameter.
    Query,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
    /// A top-level field of the JSON request body.
    Body,
}

/// One parameter or request-body field of an [`Operation`], with its rules.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Field {
    /// The name the spec gives it (`name`, `limit`, `machine_id`, ...).
    pub name: &'static str,
    /// Where it goes.
    pub location: Location,
    /// Whether a request must carry it.
    pub required: bool,
    /// The constraints of its value.
    pub rules: Rules,
}

/// The JSON Schema type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// `string`.
    String,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
    /// `array`.
    Array,
    /// `object`.
    Object,
}

/// The constraints the spec puts on a value, each `None` (or empty) when
/// the spec states none. Lengths count characters (Unicode scalar values),
/// as JSON Schema does, not bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Rules {
    /// `type`; `None` when any JSON value is allowed.
    pub kind: Option<Kind>,
    /// Whether `null` is allowed.
    pub nullable: bool,
    /// The value the server applies when the field is absent, as JSON text.
    pub default: Option<&'static str>,
    /// `minLength`: fewest characters.
    pub min_length: Option<u64>,
    /// `maxLength`: most characters.
    pub max_length: Option<u64>,
    /// `minItems`: fewest items of an array.
    pub min_items: Option<u64>,
    /// `maxItems`: most items of an array.
    pub max_items: Option<u64>,
    /// `minimum` (with `exclusiveMinimum`).
    pub minimum: Option<Bound>,
    /// `maximum` (with `exclusiveMaximum`).
    pub maximum: Option<Bound>,
    /// `pattern`: an ECMAScript regular expression a string must match somewhere.
    pub pattern: Option<Pattern>,
    /// `enum`: the values allowed (strings as they are, other values as JSON text).
    pub enum_values: &'static [&'static str],
    /// The rules of each item of an array.
    pub items: Option<&'static Rules>,
}

/// A bound on a number.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Bound {
    /// The bound.
    pub value: f64,
    /// Whether the bound itself is excluded.
    pub exclusive: bool,
}

/// A `pattern` of the spec, compiled (once, on first use) with `regress`,
/// an ECMAScript regular-expression engine, so that `\w`, `\d` and the
/// other classes mean what they mean to Clerk's JavaScript SDK.
#[derive(Clone, Copy, Debug)]
pub struct Pattern {
    source: &'static str,
    /// This pattern's entry in `PATTERN_SLOTS` (one per distinct source).
    slot: usize,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Pattern {
    /// The regular expression as the spec writes it.
    pub fn as_str(&self) -> &'static str {
        self.source
    }

    /// Whether `text` matches (somewhere, as JSON Schema's `pattern`: the
    /// spec's patterns anchor themselves with `^` and `$`).
    pub fn is_match(&self, text: &str) -> bool {
        // The build refuses a spec whose patterns do not compile, so the
        // `None` arm (refuse) is never taken for a generated table.
        PATTERN_SLOTS
            .get(self.slot)
            .and_then(|slot| slot.get_or_init(|| regress::Regex::new(self.source).ok()).as_ref())
            .is_some_and(|regex| regex.find(text).is_some())
    }
}

// `VERSION`, `FILE`, `OPERATIONS`, `operation(id)` and the pattern slots,
// written by the build.
include!(concat!(env!("OUT_DIR"), "/spec_info.rs"));
