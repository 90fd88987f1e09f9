//! End to end: the built `clerk-machines` binary against a `FakeClerk`,
//! checking stdout, stderr and exit codes.

use clerk_machines_fake::FakeClerk;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_clerk-machines");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with only the given CLERK_* variables set.
async fn run(env: &[(&str, &str)], args: &[&str]) -> Run {
    run_with_stdin(env, args, "").await
}

async fn run_with_stdin(env: &[(&str, &str)], args: &[&str], stdin: &str) -> Run {
    let stdin = stdin.to_owned();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(BIN);
        for var in ["CLERK_SECRET_KEY", "CLERK_MACHINE_SECRET_KEY", "CLERK_API_URL"] {
            command.env_remove(var);
        }
        command.envs(env).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}

struct Env {
    fake: FakeClerk,
    key: String,
}

impl Env {
    async fn new() -> Self {
        let fake = FakeClerk::start().await.unwrap();
        let key = fake.instance_key().expose_secret().to_owned();
        Self { fake, key }
    }

    async fn cli(&self, args: &[&str]) -> Run {
        run(&[("CLERK_API_URL", self.fake.url()), ("CLERK_SECRET_KEY", &self.key)], args).await
    }

    async fn cli_as_machine(&self, machine_key: &str, args: &[&str]) -> Run {
        run(&[("CLERK_API_URL", self.fake.url()), ("CLERK_MACHINE_SECRET_KEY", machine_key)], args).await
    }

    async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }
}

/// The value of a `key: value` line.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}:");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key}: {text}"))
}

fn ok(run: &Run) -> &str {
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    &run.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_commands_print_tables_and_json() {
    let env = Env::new().await;
    let created = env.cli(&["machines", "create", "api-server", "--ttl", "600"]).await;
    let text = ok(&created);
    assert_eq!(field(text, "name"), "api-server");
    assert_eq!(field(text, "token ttl"), "600s (10m)");
    let secret = field(text, "secret key").to_owned();
    assert!(secret.starts_with("ak_"));

    let api = env.json(&["machines", "list", "--query", "api-server"]).await;
    let api_id = api["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(api["total_count"], 1);

    let worker = env.json(&["machines", "create", "worker", "--scope", &api_id]).await;
    let worker_id = worker["id"].as_str().unwrap().to_owned();
    assert_eq!(worker["scoped_machines"][0]["id"], api_id.as_str());
    assert!(
        worker["secret_key"].as_str().unwrap().starts_with("ak_"),
        "JSON of a new machine carries its key"
    );

    let got = env.cli(&["machines", "get", &worker_id]).await;
    let text = ok(&got);
    assert_eq!(field(text, "scoped to"), format!("{api_id} (api-server)"));
    assert!(!text.contains("ak_"), "get never prints a key: {text}");

    let list = env.cli(&["machines", "list", "--order-by", "+name"]).await;
    let lines: Vec<_> = ok(&list).lines().collect();
    assert!(lines[0].starts_with("ID ") && lines[0].contains("NAME"), "{lines:?}");
    assert!(lines[1].contains("api-server") && lines[2].contains("worker"), "{lines:?}");
    assert_eq!(lines[3], "(2 of 2 machines)");

    let updated = env.json(&["machines", "update", &worker_id, "--name", "worker-2"]).await;
    assert_eq!(updated["name"], "worker-2");

    let key = env.cli(&["machines", "secret-key", &api_id]).await;
    assert_eq!(ok(&key).trim(), secret, "secret-key prints just the key");
    let rotated = env.cli(&["machines", "rotate-secret", &api_id, "--previous-ttl", "60"]).await;
    let new_secret = ok(&rotated).trim().to_owned();
    assert!(new_secret.starts_with("ak_") && new_secret != secret);

    let removed = env.cli(&["machines", "remove-scope", &worker_id, &api_id]).await;
    assert_eq!(ok(&removed).trim(), format!("{worker_id} may no longer call {api_id}"));
    let added = env.cli(&["machines", "add-scope", &worker_id, &api_id]).await;
    assert_eq!(ok(&added).trim(), format!("{worker_id} may now call {api_id}"));

    let deleted = env.cli(&["machines", "delete", &api_id]).await;
    assert_eq!(ok(&deleted).trim(), format!("deleted machine {api_id}"));
    let after = env.json(&["machines", "get", &worker_id]).await;
    assert_eq!(after["scoped_machines"], Value::Array(vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_exit_1_with_code_message_and_trace_id() {
    let env = Env::new().await;
    let out = env.cli(&["machines", "get", "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("error: Clerk answered 404"), "{}", out.stderr);
    assert!(out.stderr.contains("code:     resource_not_found"), "{}", out.stderr);
    assert!(out.stderr.contains("message:  The requested machine could not be found."), "{}", out.stderr);
    let trace = out.stderr.lines().find(|l| l.trim_start().starts_with("trace id:")).unwrap();
    assert_eq!(trace.split_whitespace().last().unwrap().len(), 32);

    // Wrong key: 401, also exit 1; the key is not echoed.
    let out = run(
        &[("CLERK_API_URL", env.fake.url()), ("CLERK_SECRET_KEY", "sk_test_not_this_one")],
        &["machines", "list"],
    )
    .await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("authentication_invalid"), "{}", out.stderr);
    assert!(!out.stderr.contains("not_this_one"));

    // A scope that exists: 409.
    let a = env.json(&["machines", "create", "a"]).await["id"].as_str().unwrap().to_owned();
    let b = env.json(&["machines", "create", "b", "--scope", &a]).await["id"].as_str().unwrap().to_owned();
    let out = env.cli(&["machines", "add-scope", &b, &a]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("409") && out.stderr.contains("duplicate_record"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_and_unreachable_exits_3() {
    let env = Env::new().await;
    for args in [
        &["machines", "create"][..],
        &["machines", "frobnicate"],
        &["machines", "list", "--order-by", "size"],
    ] {
        let out = env.cli(args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert!(out.stderr.contains("error"), "{}", out.stderr);
    }
    // Rejected before sending: empty name, TTL out of range.
    let out = env.cli(&["machines", "create", ""]).await;
    assert_eq!((out.code, out.stderr.trim()), (2, "error: invalid name: must not be empty"));
    let out = env.cli(&["machines", "rotate-secret", "mch_x", "--previous-ttl", "99999"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);

    let out = run(&[("CLERK_API_URL", env.fake.url())], &["machines", "list"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("CLERK_SECRET_KEY"), "{}", out.stderr);
    let out = env.cli(&["m2m", "create"]).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("CLERK_MACHINE_SECRET_KEY"), "{}", out.stderr);

    // Nothing listens on the port of a stopped fake.
    let stopped = FakeClerk::start().await.unwrap();
    let url = stopped.url().to_owned();
    stopped.stop().await;
    let out = run(&[("CLERK_API_URL", &url), ("CLERK_SECRET_KEY", "sk_test_x")], &["machines", "list"]).await;
    assert_eq!(out.code, 3, "{}", out.stderr);

    let help = env.cli(&["--help"]).await;
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("Exit codes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn m2m_commands() {
    let env = Env::new().await;
    let api = env.json(&["machines", "create", "api"]).await;
    let api_id = api["id"].as_str().unwrap().to_owned();
    let api_key = api["secret_key"].as_str().unwrap().to_owned();
    let worker = env.json(&["machines", "create", "worker", "--scope", &api_id]).await;
    let worker_id = worker["id"].as_str().unwrap().to_owned();
    let worker_key = worker["secret_key"].as_str().unwrap().to_owned();

    let minted = env
        .cli_as_machine(
            &worker_key,
            &["m2m", "create", "--expires-in", "300", "--claims", r#"{"job":"sync"}"#],
        )
        .await;
    let text = ok(&minted);
    let token = field(text, "token").to_owned();
    let id = field(text, "id").to_owned();
    assert_eq!(field(text, "subject"), worker_id);
    assert_eq!(field(text, "scopes"), api_id);
    assert_eq!(field(text, "status"), "active");
    assert_eq!(field(text, "claims"), r#"{"job":"sync"}"#);

    // The scoped machine verifies it with its own key; the output never repeats the token.
    let verified = run_with_stdin(
        &[("CLERK_API_URL", env.fake.url()), ("CLERK_MACHINE_SECRET_KEY", &api_key)],
        &["m2m", "verify", "-"],
        &format!("{token}\n"),
    )
    .await;
    let text = ok(&verified);
    assert!(text.contains(&id) && !text.contains(&token), "{text}");

    let listed = env.cli(&["m2m", "list", &worker_id]).await;
    let text = ok(&listed);
    assert!(text.contains(&id) && text.contains("active") && text.ends_with("(1 of 1 tokens)\n"), "{text}");

    let revoked = env.cli(&["m2m", "revoke", &id, "--reason", "done"]).await;
    assert_eq!(ok(&revoked).trim(), format!("revoked token {id}"));
    let listed = env.json(&["m2m", "list", &worker_id, "--revoked"]).await;
    assert_eq!(listed["m2m_tokens"][0]["revocation_reason"], "done");
    let out = env.cli(&["m2m", "verify", &token]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("token_revoked"), "{}", out.stderr);

    let jwt = env.cli_as_machine(&worker_key, &["--json", "m2m", "create", "--format", "jwt"]).await;
    let jwt: Value = serde_json::from_str(ok(&jwt)).unwrap();
    assert_eq!(jwt["token"].as_str().unwrap().matches('.').count(), 2);

    // The instance key cannot mint: refused before sending, as a usage error.
    let out =
        run(&[("CLERK_API_URL", env.fake.url()), ("CLERK_MACHINE_SECRET_KEY", &env.key)], &["m2m", "create"])
            .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("machine secret key"), "{}", out.stderr);
    let out = env.cli(&["m2m", "list", "mch_bad"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_streams_every_page() {
    let env = Env::new().await;
    for i in 0..5 {
        env.json(&["machines", "create", &format!("m{i}")]).await;
    }
    let out = env.cli(&["machines", "list", "--all", "--limit", "2"]).await;
    let text = ok(&out);
    assert_eq!(text.lines().filter(|l| l.starts_with("mch_")).count(), 5, "{text}");
    assert!(text.ends_with("(5 machines)\n"));
    // stderr is not a terminal here: no progress.
    let all = env.json(&["machines", "list", "--all", "--limit", "2", "--order-by", "name"]).await;
    let names: Vec<_> =
        all.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["m0", "m1", "m2", "m3", "m4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_all_shows_progress_when_stderr_is_a_terminal() {
    // `script` (util-linux) runs the command on a pseudo-terminal; stdout goes
    // to a file, so only stderr is the terminal.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` is not installed, no terminal to test with");
        return;
    }
    let env = Env::new().await;
    for i in 0..5 {
        env.json(&["machines", "create", &format!("m{i}")]).await;
    }
    let stdout_file = std::env::temp_dir().join(format!("clerk-machines-cli-pty-{}.txt", std::process::id()));
    let shell = format!("'{BIN}' machines list --all --limit 2 > '{}'", stdout_file.display());
    let (url, key) = (env.fake.url().to_owned(), env.key.clone());
    let terminal = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &shell, "/dev/null"])
            .env("CLERK_API_URL", url)
            .env("CLERK_SECRET_KEY", key)
            .env_remove("CLERK_MACHINE_SECRET_KEY")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let shown = String::from_utf8_lossy(&terminal.stdout);
    let stdout = std::fs::read_to_string(&stdout_file).unwrap();
    std::fs::remove_file(&stdout_file).ok();
    assert!(terminal.status.success(), "{shown}");
    assert!(shown.contains("fetched 2/5 machines") && shown.contains("fetched 5/5 machines"), "{shown:?}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("mch_")).count(), 5, "{stdout}");
    assert!(!stdout.contains("fetched"), "progress must not reach stdout: {stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_command_serves_until_stopped() {
    let mut child = Command::new(BIN)
        .args(["fake", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout).lines().take(4).collect::<Result<Vec<_>, _>>().unwrap()
    });
    let lines = tokio::time::timeout(Duration::from_secs(60), lines).await.unwrap().unwrap();
    let value = |prefix: &str| lines.iter().find_map(|l| l.strip_prefix(prefix)).unwrap().to_owned();
    let url = value("CLERK_API_URL=");
    let key = value("CLERK_SECRET_KEY=");
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"), "{lines:?}");
    assert!(key.starts_with("sk_test_"));
    let out = run(&[("CLERK_API_URL", &url), ("CLERK_SECRET_KEY", &key)], &["machines", "list"]).await;
    assert_eq!(ok(&out).trim(), "ID  NAME  TOKEN TTL  SCOPES  CREATED\n(0 of 0 machines)");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_commands() {
    let env = Env::new().await;
    let worker = env.json(&["machines", "create", "worker"]).await["id"].as_str().unwrap().to_owned();

    // Create shows the secret (its point), with the key's fields.
    let created = env
        .cli(&[
            "api-keys",
            "create",
            "deploy-key",
            &worker,
            "--scope",
            "deploy",
            "--scope",
            "read",
            "--description",
            "deploys",
            "--claims",
            r#"{"env":"ci"}"#,
            "--expires-in",
            "3600",
        ])
        .await;
    let text = ok(&created);
    let id = field(text, "id").to_owned();
    let secret = field(text, "secret").to_owned();
    assert!(id.starts_with("ak_") && secret.starts_with("ak_") && id != secret, "{text}");
    assert_eq!(field(text, "subject"), worker);
    assert_eq!(field(text, "scopes"), "deploy, read");
    assert_eq!(field(text, "status"), "active");
    assert_eq!(field(text, "claims"), r#"{"env":"ci"}"#);

    // Nothing else prints it.
    let got = env.cli(&["api-keys", "get", &id]).await;
    let text = ok(&got);
    assert_eq!(field(text, "description"), "deploys");
    assert!(!text.contains(&secret), "{text}");
    let listed = env.cli(&["api-keys", "list", &worker]).await;
    let text = ok(&listed);
    let lines: Vec<_> = text.lines().collect();
    assert!(lines[0].starts_with("ID ") && lines[0].contains("STATUS"), "{lines:?}");
    assert!(
        lines[1].starts_with(&id) && lines[1].contains("deploy-key") && lines[1].contains("active"),
        "{text}"
    );
    assert_eq!(lines[2], "(1 of 1 API keys)");
    assert!(!text.contains(&secret));

    let shown = env.cli(&["api-keys", "secret", &id]).await;
    assert_eq!(ok(&shown).trim(), secret, "secret prints just the secret");
    let shown = env.json(&["api-keys", "secret", &id]).await;
    assert_eq!(shown["secret"], secret.as_str());

    // Verify, from stdin: the key's fields, never the secret.
    let verified = run_with_stdin(
        &[("CLERK_API_URL", env.fake.url()), ("CLERK_SECRET_KEY", &env.key)],
        &["api-keys", "verify", "-"],
        &format!("{secret}\n"),
    )
    .await;
    let text = ok(&verified);
    assert_eq!(field(text, "id"), id);
    assert!(!text.contains(&secret), "{text}");

    let updated = env.json(&["api-keys", "update", &id, "--scope", "read", "--description", "ships"]).await;
    assert_eq!(updated["scopes"], serde_json::json!(["read"]));
    assert_eq!(updated["description"], "ships");
    assert!(updated.get("secret").is_none());

    let revoked = env.cli(&["api-keys", "revoke", &id, "--reason", "rotated"]).await;
    assert_eq!(ok(&revoked).trim(), format!("revoked API key {id}"));
    let out = env.cli(&["api-keys", "verify", &secret]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("404") && out.stderr.contains("resource_not_found"), "{}", out.stderr);
    assert!(!out.stderr.contains(&secret) && out.stdout.is_empty(), "{}", out.stderr);
    let all = env.json(&["api-keys", "list", &worker, "--include-invalid", "--all", "--limit", "1"]).await;
    assert_eq!(all["total_count"], 1);
    assert_eq!(all["data"][0]["revocation_reason"], "rotated");
    assert_eq!(env.json(&["api-keys", "list", &worker]).await["total_count"], 0);

    let deleted = env.cli(&["api-keys", "delete", &id]).await;
    assert_eq!(ok(&deleted).trim(), format!("deleted API key {id}"));
    assert_eq!(env.cli(&["api-keys", "get", &id]).await.code, 1);

    // Refused before sending: usage errors.
    for args in [
        &["api-keys", "create", "x", &worker][..],
        &["api-keys", "create", "valid", "team_2xhFjEI5X2qWRvtV13BzSj8H6Dk"],
        &["api-keys", "get", "ak_short"],
        &["api-keys", "update", &id],
        &["api-keys", "create", "valid", &worker, "--claims", "{not json"],
    ] {
        let out = env.cli(args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_verify_command() {
    use clerk_machines_fake::OAuthTokenOptions;
    let env = Env::new().await;
    let user = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk";
    let opaque = env.fake.issue_oauth_access_token(OAuthTokenOptions::new(user).scope("read")).await.unwrap();
    let jwt = env
        .fake
        .issue_oauth_access_token(OAuthTokenOptions::new(user).lifetime(Duration::from_secs(60)).jwt())
        .await
        .unwrap();

    let out = env.cli(&["oauth", "verify", opaque.token.expose_secret()]).await;
    let text = ok(&out);
    assert_eq!(field(text, "id"), opaque.id);
    assert_eq!(field(text, "subject"), user);
    assert_eq!(field(text, "scopes"), "read");
    assert_eq!(field(text, "status"), "active");
    assert!(!text.contains(opaque.token.expose_secret()));

    let out = run_with_stdin(
        &[("CLERK_API_URL", env.fake.url()), ("CLERK_SECRET_KEY", &env.key)],
        &["--json", "oauth", "verify", "-"],
        jwt.token.expose_secret(),
    )
    .await;
    let answer: Value = serde_json::from_str(ok(&out)).unwrap();
    assert_eq!(answer["id"], jwt.id.as_str());

    env.fake.advance_clock(Duration::from_secs(61));
    let out = env.cli(&["oauth", "verify", jwt.token.expose_secret()]).await;
    assert_eq!(field(ok(&out), "status"), "inactive");
    assert_eq!(
        env.json(&["oauth", "verify", jwt.token.expose_secret()]).await,
        serde_json::json!({"active": false})
    );

    let out = env.cli(&["oauth", "verify", "oat_unknown"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("404"), "{}", out.stderr);
}
