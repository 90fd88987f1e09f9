//! Running progenitor on the prepared spec and writing the results to `OUT_DIR`.

use super::prepare::{Prepared, SECRET_PROPERTIES, SECRET_SCHEMA};
use super::rules::{FieldRules, Rules};
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Cargo features of this crate that change what is generated.
pub struct Features {
    /// `schemars`: derive `JsonSchema` on generated types.
    pub schemars: bool,
    /// `mock`: generate the typed httpmock helpers.
    pub mock: bool,
}

impl Features {
    /// Reads the features cargo enabled for this build.
    pub fn from_env() -> Self {
        Self {
            schemars: std::env::var_os("CARGO_FEATURE_SCHEMARS").is_some(),
            mock: std::env::var_os("CARGO_FEATURE_MOCK").is_some(),
        }
    }
}

/// Wall-clock time of the build script's phases, written into the build log.
pub struct Timer {
    start: Instant,
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Timer {
    /// Starts timing.
    pub fn start() -> Self {
        let now = Instant::now();
        Self { start: now, last: now, laps: Vec::new() }
    }

    /// Ends the phase `name`, which ran since the previous lap (or the start).
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, (now - self.last).as_secs_f64() * 1e3));
        self.last = now;
    }

    /// Adds phases measured elsewhere (they must lie within the current lap).
    pub fn add_laps(&mut self, laps: &[(&'static str, f64)]) {
        let measured: f64 = laps.iter().map(|(_, ms)| ms).sum();
        self.lap("(rest)");
        if let Some((_, rest)) = self.laps.pop() {
            self.laps.extend_from_slice(laps);
            self.laps.push(("other", (rest - measured).max(0.0)));
        }
    }

    fn report(&self) -> String {
        let mut line = String::from("timing (ms):");
        for (name, ms) in &self.laps {
            let _ = write!(line, " {name} {ms:.1},");
        }
        let _ = write!(line, " total {:.1}", self.start.elapsed().as_secs_f64() * 1e3);
        line
    }
}

/// Generates the client (and the mocks when enabled) and writes:
/// `codegen.rs` (client, builders, types), `spec_info.rs` (version and
/// operation list), `mock.rs` (typed httpmock helpers) and `generation.log`.
pub fn write_all(
    prepared: &Prepared,
    features: &Features,
    out_dir: &Path,
    spec_path: &Path,
    mut timer: Timer,
) -> Result<(), String> {
    let client = guarded("client", || generator(features).generate_tokens(&prepared.spec))?;
    timer.lap("generate");
    let client = format_tokens(client, "client")?;
    timer.lap("format");
    write(out_dir, "codegen.rs", &client)?;

    if features.mock {
        let mock =
            guarded("httpmock helpers", || generator(features).httpmock(&prepared.spec, "crate::api"))?;
        timer.lap("generate mocks");
        let mock = format_tokens(mock, "httpmock helpers")?;
        timer.lap("format mocks");
        write(out_dir, "mock.rs", &mock)?;
    }
    write(out_dir, "spec_info.rs", &spec_info(prepared, spec_path))?;
    timer.lap("write");

    let mut log = format!(
        "spec: {}\nversion: {}\noperations: {}\n",
        spec_path.display(),
        prepared.version,
        prepared.operations.len()
    );
    for op in &prepared.operations {
        let _ = writeln!(log, "  {}: {} {} {:?}", op.id, op.method, op.path, op.statuses);
    }
    log.push_str("repairs:\n");
    for repair in &prepared.repairs {
        let _ = writeln!(log, "  {repair}");
    }
    let _ = writeln!(log, "{}", timer.report());
    write(out_dir, "generation.log", &log)
}

fn generator(features: &Features) -> Generator {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // The crate implements `ClientHooks` itself: headers in `pre`, and
        // retries and tracing in `exec` (see `src/request/`).
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote::quote! { crate::request::RequestSettings })
        .with_derive("PartialEq")
        // Secrets decode into the crate's redacting type (repair 5).
        .with_replacement(SECRET_SCHEMA, "crate::SecretString", std::iter::empty());
    if features.schemars {
        settings.with_derive("schemars::JsonSchema");
    }
    Generator::new(&settings)
}

/// Runs a progenitor step, turning both its errors and its panics into a
/// message (progenitor panics on some unsupported shapes).
fn guarded(
    what: &str,
    step: impl FnOnce() -> Result<proc_macro2::TokenStream, progenitor::Error>,
) -> Result<proc_macro2::TokenStream, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(step));
    std::panic::set_hook(previous);
    match result {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(format!("progenitor cannot generate the {what}: {e}")),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown reason");
            Err(format!("progenitor failed while generating the {what}: {reason}"))
        }
    }
}

fn format_tokens(tokens: proc_macro2::TokenStream, what: &str) -> Result<String, String> {
    let file = syn::parse2::<syn::File>(tokens)
        .map_err(|e| format!("the generated {what} is not valid Rust: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

/// `spec_info.rs`: the constants of `clerk_machines::spec`.
fn spec_info(prepared: &Prepared, spec_path: &Path) -> String {
    let mut patterns = Vec::new();
    let operations: String = prepared
        .operations
        .iter()
        .map(|op| {
            let fields: String =
                op.rules.fields.iter().map(|field| field_literal(field, &mut patterns)).collect();
            format!(
                "    Operation {{ id: {:?}, method: {:?}, path: {:?}, tags: &{:?}, statuses: &{:?}, \
                 fields: &[\n{fields}    ], closed_body: {} }},\n",
                op.id, op.method, op.path, op.tags, op.statuses, op.rules.closed_body
            )
        })
        .collect();
    // A `match` rather than a scan: the facades look an operation up on
    // every call.
    let arms: String = prepared
        .operations
        .iter()
        .enumerate()
        .map(|(index, op)| format!("        {:?} => Some(&OPERATIONS[{index}]),\n", op.id))
        .collect();
    let file_name = spec_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(
        "/// `info.version` of the spec the client was generated from; sent as `Clerk-API-Version`.\n\
         pub const VERSION: &str = {version:?};\n\
         /// File name of the spec the client was generated from.\n\
         pub const FILE: &str = {file_name:?};\n\
         /// Every operation the client was generated with, in the spec's order,\n\
         /// with the rules of its input as the spec states them.\n\
         pub const OPERATIONS: &[Operation] = &[\n{operations}];\n\
         /// The generated operation with this `operationId`.\n\
         pub fn operation(id: &str) -> Option<&'static Operation> {{\n    match id {{\n{arms}        _ => None,\n    }}\n}}\n\
         /// One compiled regular expression per distinct `Pattern` slot, made on first use.\n\
         static PATTERN_SLOTS: [std::sync::OnceLock<Option<regress::Regex>>; {slots}] =\n    \
         [const {{ std::sync::OnceLock::new() }}; {slots}];\n\
         /// JSON fields whose string values the build marked as secrets (repair 5).\n\
         pub(crate) const SECRET_FIELDS: &[&str] = &{SECRET_PROPERTIES:?};\n",
        version = prepared.version,
        slots = patterns.len(),
    )
}

/// One `spec::Field` literal.
fn field_literal(field: &FieldRules, patterns: &mut Vec<String>) -> String {
    let location = match field.location.as_str() {
        "path" => "Path",
        "query" => "Query",
        "header" => "Header",
        "cookie" => "Cookie",
        _ => "Body",
    };
    format!(
        "        Field {{ name: {:?}, location: Location::{location}, required: {}, rules: {} }},\n",
        field.name,
        field.required,
        rules_literal(&field.rules, patterns)
    )
}

/// One `spec::Rules` literal; its pattern gets the slot of an equal pattern
/// seen before, or a new one.
fn rules_literal(rules: &Rules, patterns: &mut Vec<String>) -> String {
    let kind = match rules.kind.as_deref() {
        Some("string") => "Some(Kind::String)",
        Some("integer") => "Some(Kind::Integer)",
        Some("number") => "Some(Kind::Number)",
        Some("boolean") => "Some(Kind::Boolean)",
        Some("array") => "Some(Kind::Array)",
        Some("object") => "Some(Kind::Object)",
        _ => "None",
    };
    let bound = |bound: Option<(f64, bool)>| match bound {
        Some((value, exclusive)) => format!("Some(Bound {{ value: {value:?}_f64, exclusive: {exclusive} }})"),
        None => "None".to_owned(),
    };
    let pattern = match &rules.pattern {
        Some(source) => {
            let slot = patterns.iter().position(|known| known == source).unwrap_or_else(|| {
                patterns.push(source.clone());
                patterns.len() - 1
            });
            format!("Some(Pattern {{ source: {source:?}, slot: {slot} }})")
        }
        None => "None".to_owned(),
    };
    let items = match &rules.items {
        Some(items) => format!("Some(&{})", rules_literal(items, patterns)),
        None => "None".to_owned(),
    };
    format!(
        "Rules {{ kind: {kind}, nullable: {}, default: {:?}, min_length: {:?}, max_length: {:?}, \
         min_items: {:?}, max_items: {:?}, minimum: {}, maximum: {}, pattern: {pattern}, \
         enum_values: &{:?}, items: {items} }}",
        rules.nullable,
        rules.default,
        rules.min_length,
        rules.max_length,
        rules.min_items,
        rules.max_items,
        bound(rules.minimum),
        bound(rules.maximum),
        rules.enum_values,
    )
}

fn write(out_dir: &Path, name: &str, contents: &str) -> Result<(), String> {
    let path = out_dir.join(name);
    std::fs::write(&path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
