//! `clerk-machines`: manage Clerk machines, M2M tokens and API keys, verify
//! OAuth access tokens from the command line, or serve a fake Clerk for tests
//! (`clerk-machines fake`). Every result is printed through one path
//! (`output::print`): JSON with `--json`, tables otherwise. Exit codes: 1 Clerk
//! said no, 2 usage (nothing sent), 3 unreachable. Secrets are printed only
//! where that is the command's point (`machines create`, `machines
//! secret-key`, `api-keys create`, `api-keys secret`, `m2m create`), never in
//! errors; `verify` commands read the secret from stdin with `-`.
//!
//! ```sh
//! # CLERK_SECRET_KEY (and CLERK_API_URL) set: your instance, or the two
//! # lines `clerk-machines fake` prints when it starts
//! clerk-machines api-keys create ci-deploy mch_... --scope deploy --expires-in 86400
//! clerk-machines api-keys list mch_... --include-invalid
//! echo "$SECRET" | clerk-machines api-keys verify -
//! clerk-machines api-keys revoke ak_... --reason rotated
//! clerk-machines oauth verify oat_...
//! ```

#![forbid(unsafe_code)]

mod api_keys;
mod m2m;
mod output;
mod views;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clerk_machines::machines::{ListMachines, MachineOrder};
use clerk_machines::{Clerk, ClerkConfig, Error};
use clerk_machines_fake::{FakeClerk, FakeOptions};
use output::Render;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

/// Exit code when Clerk answered with an error.
const EXIT_API: u8 = 1;
/// Exit code for usage errors: bad arguments, missing key, input rejected before sending.
const EXIT_USAGE: u8 = 2;
/// Exit code when Clerk could not be reached or its answer could not be read.
const EXIT_UNREACHABLE: u8 = 3;

const AFTER_HELP: &str = "\
Environment: CLERK_SECRET_KEY (instance key, sk_...), CLERK_MACHINE_SECRET_KEY (machine key, ak_...),
CLERK_API_URL (default https://api.clerk.com/v1). Flags override them.

Exit codes: 0 success, 1 Clerk answered with an error, 2 usage error, 3 Clerk unreachable or unreadable answer.";

/// Manage Clerk machines, machine-to-machine tokens and API keys; verify OAuth access tokens.
#[derive(Parser, Debug)]
#[command(name = "clerk-machines", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
pub(crate) struct Global {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Clerk's Backend API base URL.
    #[arg(long, global = true, env = "CLERK_API_URL", value_name = "URL")]
    api_url: Option<String>,
    /// Instance secret key (sk_...).
    #[arg(long, global = true, env = "CLERK_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    secret_key: Option<String>,
    /// Machine secret key (ak_...), for `m2m create`.
    #[arg(long, global = true, env = "CLERK_MACHINE_SECRET_KEY", hide_env_values = true, value_name = "KEY")]
    machine_secret_key: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Machines: list, create, inspect, change, delete, keys and scopes.
    #[command(subcommand)]
    Machines(MachinesCmd),
    /// Machine-to-machine tokens: mint, list, revoke, verify.
    #[command(subcommand)]
    M2m(M2mCmd),
    /// API keys of users, organizations and machines: create, list, inspect,
    /// change, delete, show the secret, revoke, verify.
    #[command(subcommand)]
    ApiKeys(api_keys::ApiKeysCmd),
    /// OAuth access tokens: verify.
    #[command(subcommand)]
    Oauth(api_keys::OauthCmd),
    /// Serve a fake Clerk on 127.0.0.1 until interrupted (Ctrl-C).
    Fake {
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Instance key to accept (default: a random sk_test_... key).
        #[arg(long, value_name = "KEY")]
        instance_key: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum MachinesCmd {
    /// List machines (newest first unless --order-by).
    List {
        /// Page size (1-500; with --all, the size of each fetched page).
        #[arg(long)]
        limit: Option<u32>,
        /// Machines to skip.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Exact machine id, or part of a name.
        #[arg(long)]
        query: Option<String>,
        /// Sort order: name, created_at, with + or - in front.
        #[arg(long, value_parser = MachineOrder::from_str, allow_hyphen_values = true)]
        order_by: Option<MachineOrder>,
        /// Fetch every page.
        #[arg(long)]
        all: bool,
    },
    /// Create a machine; prints its secret key (shown only once).
    Create {
        /// Name (1-255 characters).
        name: String,
        /// Id of a machine this one may call (repeatable).
        #[arg(long = "scope", value_name = "MACHINE_ID")]
        scopes: Vec<String>,
        /// Default lifetime of its tokens, in seconds.
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
    },
    /// Show a machine.
    Get { machine_id: String },
    /// Change a machine's name and/or default token lifetime.
    Update {
        machine_id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New default token lifetime, in seconds.
        #[arg(long, value_name = "SECONDS")]
        ttl: Option<u64>,
    },
    /// Delete a machine (and the scopes pointing at it).
    Delete { machine_id: String },
    /// Print a machine's current secret key.
    SecretKey { machine_id: String },
    /// Replace a machine's secret key; prints the new one.
    RotateSecret {
        machine_id: String,
        /// Seconds the previous key keeps working (0-28800).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        previous_ttl: u64,
    },
    /// Let machine FROM call machine TO.
    AddScope { from: String, to: String },
    /// Stop machine FROM from calling machine TO.
    RemoveScope { from: String, to: String },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Opaque,
    Jwt,
}

#[derive(Subcommand, Debug)]
enum M2mCmd {
    /// Mint a token (needs the machine secret key); prints the token.
    Create {
        /// Token format.
        #[arg(long, value_enum, default_value_t = Format::Opaque)]
        format: Format,
        /// Lifetime in seconds (default: the machine's default).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
        /// Custom claims, as JSON.
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
    },
    /// List a machine's tokens (opaque tokens only).
    List {
        /// The machine (mch_...).
        subject: String,
        /// List revoked tokens.
        #[arg(long)]
        revoked: bool,
        /// List expired tokens.
        #[arg(long)]
        expired: bool,
        /// Page size (1-100).
        #[arg(long, default_value_t = 10)]
        limit: u32,
        /// Tokens to skip.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Revoke a token by id (mt_...).
    Revoke {
        token_id: String,
        /// Why (kept with the token).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Ask Clerk whether a token is valid.
    Verify {
        /// The token; `-` reads it from stdin (keeps it out of the process list).
        token: String,
    },
}

/// Why a command failed, and so which exit code it gets.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or configuration; nothing was sent.
    Usage(String),
    /// Clerk answered with an error.
    Api { status: u16, code: Option<String>, message: Option<String>, trace_id: Option<String> },
    /// Clerk could not be reached, or its answer could not be read.
    Unreachable(String),
    /// Whoever read the output stopped reading (`| head`): end quietly.
    Closed,
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Api { .. } => EXIT_API,
            Failure::Unreachable(_) => EXIT_UNREACHABLE,
            Failure::Closed => 0,
        }
    }

    fn print(&self, err: &mut impl Write) {
        let _ = match self {
            Failure::Closed => Ok(()),
            Failure::Usage(message) => writeln!(err, "error: {message}"),
            Failure::Unreachable(message) => writeln!(err, "error: {message}"),
            Failure::Api { status, code, message, trace_id } => {
                let mut text = format!("error: Clerk answered {status}\n");
                if let Some(code) = code {
                    text.push_str(&format!("  code:     {code}\n"));
                }
                if let Some(message) = message {
                    text.push_str(&format!("  message:  {message}\n"));
                }
                if let Some(trace_id) = trace_id {
                    text.push_str(&format!("  trace id: {trace_id}\n"));
                }
                write!(err, "{text}")
            }
        };
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        match &error {
            Error::Api { status, errors, trace_id, .. } => Failure::Api {
                status: status.as_u16(),
                code: errors.first().map(|e| e.code.clone()),
                message: errors.first().map(|e| {
                    if e.long_message.is_empty() {
                        e.message.clone()
                    } else {
                        e.long_message.clone()
                    }
                }),
                trace_id: trace_id.clone(),
            },
            Error::InvalidInput { .. } => Failure::Usage(error.to_string()),
            _ => Failure::Unreachable(error.to_string()),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure::Closed;
        }
        Failure::Unreachable(format!("cannot write the output: {error}"))
    }
}

impl Global {
    fn config(&self) -> ClerkConfig {
        match self.api_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => ClerkConfig::default().with_base_url(url),
            None => ClerkConfig::default(),
        }
    }

    pub(crate) fn instance(&self) -> Result<Clerk, Failure> {
        let key = self.secret_key.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
            Failure::Usage("no instance secret key: set CLERK_SECRET_KEY or pass --secret-key".into())
        })?;
        Ok(Clerk::new(key, self.config())?)
    }

    fn machine(&self) -> Result<Clerk, Failure> {
        let key = self.machine_secret_key.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
            Failure::Usage(
                "no machine secret key: set CLERK_MACHINE_SECRET_KEY or pass --machine-secret-key".into(),
            )
        })?;
        Ok(Clerk::new(key, self.config())?)
    }

    /// The instance key when given, else the machine key.
    fn either(&self) -> Result<Clerk, Failure> {
        if self.secret_key.as_deref().is_some_and(|k| !k.is_empty()) {
            self.instance()
        } else {
            self.machine().map_err(|_| {
                Failure::Usage(
                    "no key: set CLERK_SECRET_KEY or CLERK_MACHINE_SECRET_KEY (or pass a key flag)".into(),
                )
            })
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_USAGE));
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print(&mut std::io::stderr());
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let global = &cli.global;
    let result: Box<dyn Render> = match cli.command {
        Command::Fake { port, instance_key } => return fake(port, instance_key, global.json, &mut out).await,
        Command::Machines(cmd) => machines(global, cmd).await?,
        Command::M2m(cmd) => tokens(global, cmd).await?,
        Command::ApiKeys(cmd) => api_keys::run(global, cmd).await?,
        Command::Oauth(cmd) => api_keys::oauth(global, cmd).await?,
    };
    output::print(&mut out, global.json, result.as_ref())?;
    Ok(())
}

async fn fake(
    port: u16,
    instance_key: Option<String>,
    json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut options = FakeOptions::new().port(port);
    if let Some(key) = instance_key {
        options = options.instance_key(key);
    }
    let fake = FakeClerk::start_with(options)
        .await
        .map_err(|e| Failure::Usage(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    // The point of this command: the URL and the key to use against the fake.
    let banner = views::FakeBanner { url: fake.url().to_owned(), key: fake.instance_key().clone() };
    output::print(out, json, &banner)?;
    out.flush()?;
    fake.serve_until(tokio::signal::ctrl_c()).await;
    Ok(())
}

fn ttl(seconds: u64) -> Duration {
    Duration::from_secs(seconds)
}

/// An argument given as JSON text, parsed.
pub(crate) fn json_arg(flag: &str, text: Option<String>) -> Result<Option<serde_json::Value>, Failure> {
    text.map(|text| {
        serde_json::from_str(&text).map_err(|e| Failure::Usage(format!("{flag} is not JSON: {e}")))
    })
    .transpose()
}

/// A secret argument, or the first line of stdin when it is `-` (which keeps
/// the secret out of the process list).
pub(crate) fn arg_or_stdin(value: String) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| Failure::Usage(format!("cannot read stdin: {e}")))?;
    Ok(line.trim().to_owned())
}

async fn machines(global: &Global, cmd: MachinesCmd) -> Result<Box<dyn Render>, Failure> {
    let clerk = global.instance()?;
    let api = clerk.machines();
    Ok(match cmd {
        MachinesCmd::List { limit, offset, query, order_by, all } => {
            let filters = ListFilters { query, order_by };
            if all {
                let page_size = limit.unwrap_or(clerk_machines::defaults::STREAM_PAGE_SIZE);
                return Ok(Box::new(list_all(&clerk, &filters, page_size, offset).await?));
            }
            let mut request = filters.request(&clerk).offset(offset);
            if let Some(limit) = limit {
                request = request.limit(limit);
            }
            Box::new(views::Machines(request.await?))
        }
        MachinesCmd::Create { name, scopes, ttl: seconds } => {
            Box::new(api.create(name, scopes, seconds.map(ttl)).await?)
        }
        MachinesCmd::Get { machine_id } => Box::new(api.get(&machine_id).await?),
        MachinesCmd::Update { machine_id, name, ttl: seconds } => {
            let mut update = api.update(machine_id);
            if let Some(name) = name {
                update = update.name(name);
            }
            if let Some(seconds) = seconds {
                update = update.default_token_ttl(ttl(seconds));
            }
            Box::new(update.await?)
        }
        MachinesCmd::Delete { machine_id } => Box::new(api.delete(&machine_id).await?),
        MachinesCmd::SecretKey { machine_id } => Box::new(api.secret_key(&machine_id).await?),
        MachinesCmd::RotateSecret { machine_id, previous_ttl } => {
            Box::new(api.rotate_secret_key(&machine_id, ttl(previous_ttl)).await?)
        }
        MachinesCmd::AddScope { from, to } => Box::new(api.add_scope(&from, &to).await?),
        MachinesCmd::RemoveScope { from, to } => Box::new(api.remove_scope(&from, &to).await?),
    })
}

/// The filters of `machines list`, kept to build each page's request.
struct ListFilters {
    query: Option<String>,
    order_by: Option<MachineOrder>,
}

impl ListFilters {
    fn request<'a>(&self, clerk: &'a Clerk) -> ListMachines<'a> {
        let mut request = clerk.machines().list();
        if let Some(query) = &self.query {
            request = request.query(query.as_str());
        }
        if let Some(order) = self.order_by {
            request = request.order_by(order);
        }
        request
    }
}

/// Fetches every page, showing progress on stderr when it is a terminal.
async fn list_all(
    clerk: &Clerk,
    filters: &ListFilters,
    page_size: u32,
    mut offset: u64,
) -> Result<views::AllMachines, Failure> {
    let progress = std::io::stderr().is_terminal();
    let mut all = Vec::new();
    loop {
        let page = filters.request(clerk).limit(page_size).offset(offset).await?;
        let fetched = page.items.len() as u64;
        all.extend(page.items);
        if progress {
            eprint!("\rfetched {}/{} machines", all.len(), page.total_count);
        }
        offset += fetched;
        if fetched == 0 || offset >= page.total_count {
            break;
        }
    }
    if progress {
        eprintln!();
    }
    Ok(views::AllMachines(all))
}

async fn tokens(global: &Global, cmd: M2mCmd) -> Result<Box<dyn Render>, Failure> {
    Ok(match cmd {
        M2mCmd::Create { format, expires_in, claims } => {
            let claims = json_arg("--claims", claims)?;
            let clerk = global.machine()?;
            Box::new(m2m::create(&clerk, matches!(format, Format::Jwt), expires_in, claims).await?)
        }
        M2mCmd::List { subject, revoked, expired, limit, offset } => {
            let clerk = global.either()?;
            Box::new(views::Tokens(m2m::list(&clerk, &subject, revoked, expired, limit, offset).await?))
        }
        M2mCmd::Revoke { token_id, reason } => {
            let clerk = global.either()?;
            Box::new(m2m::revoke(&clerk, &token_id, reason).await?)
        }
        M2mCmd::Verify { token } => {
            let token = arg_or_stdin(token)?;
            let clerk = global.either()?;
            Box::new(m2m::verify(&clerk, &token).await?)
        }
    })
}
