//! The fake's in-memory instance: machines, scopes, secret keys and M2M tokens,
//! with Clerk's rules. Handlers in `routes` parse HTTP and call in here.

use super::errors::{Failure, Outcome};
use super::ids::{random_alnum, random_hex};
use super::jwt::M2mClaims;
use clerk_machines::types;
use clerk_machines::verify::VerifiedM2mToken;
use serde_json::Value;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::time::{SystemTime, UNIX_EPOCH};

// The limits of each field are the spec's and are checked on the way in
// (`rules`); the model applies Clerk's semantics to what passed.

/// Characters after `mch_` in the machine ids the fake makes (the spec's
/// `^mch_\w{27}$`).
const MACHINE_ID_CHARS: usize = 27;
/// The default lifetime of a machine's tokens when the spec states no
/// default for `default_token_ttl`: one hour, as Clerk documents.
const FALLBACK_TOKEN_TTL: u64 = 3600;

/// Most machines one machine may be scoped to: the spec states it only as
/// the `maxItems` of CreateMachine's `scoped_machines`, and Clerk applies
/// it to scopes added later too.
fn max_scopes() -> usize {
    super::rules::max_items("CreateMachine", "scoped_machines").unwrap_or(usize::MAX)
}

/// Who is calling, from the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The instance secret key.
    Instance,
    /// A machine secret key of this machine.
    Machine(String),
}

#[derive(Debug, Clone)]
struct MachineRec {
    id: String,
    name: String,
    created_at: i64,
    updated_at: i64,
    default_token_ttl: NonZeroU64,
    /// Creation order, to sort machines created within the same millisecond.
    seq: u64,
    /// Scopes to other machines: (target id, created_at), in creation order.
    scopes: Vec<(String, i64)>,
    secret_key: String,
}

#[derive(Debug, Clone)]
struct KeyRec {
    machine_id: String,
    /// `None` while the key is current; set when a rotation retires it.
    expires_at: Option<i64>,
}

/// A stored (opaque) M2M token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRec {
    pub(crate) id: String,
    pub(crate) subject: String,
    pub(crate) token: String,
    pub(crate) claims: Option<Value>,
    pub(crate) scopes: Vec<String>,
    pub(crate) revoked: bool,
    pub(crate) revocation_reason: Option<String>,
    pub(crate) expiration: Option<i64>,
    pub(crate) last_used_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    seq: u64,
}

impl TokenRec {
    pub(crate) fn expired(&self, now: i64) -> bool {
        self.expiration.is_some_and(|at| now >= at)
    }
}

/// The fields every M2M token response shares, for the generated response types.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct TokenView {
    pub(crate) object: &'static str,
    pub(crate) id: String,
    pub(crate) subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) claims: Option<Value>,
    pub(crate) scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
    pub(crate) revoked: bool,
    pub(crate) revocation_reason: Option<String>,
    pub(crate) expired: bool,
    pub(crate) expiration: Option<f64>,
    pub(crate) last_used_at: Option<f64>,
    pub(crate) created_at: f64,
    pub(crate) updated_at: f64,
}

impl TokenView {
    /// Converts into one of the generated token response types (same fields,
    /// different names), so a shape the spec does not allow fails here.
    pub(crate) fn into_typed<T: serde::de::DeserializeOwned>(self) -> Outcome<T> {
        let value = serde_json::to_value(&self).map_err(|e| Failure::internal(e.to_string()))?;
        serde_json::from_value(value).map_err(|e| Failure::internal(format!("token response: {e}")))
    }
}

/// Parameters of a machine list.
#[derive(Debug, Clone)]
pub(crate) struct MachineQuery {
    pub(crate) limit: usize,
    pub(crate) offset: usize,
    pub(crate) query: Option<String>,
    pub(crate) by_name: bool,
    pub(crate) descending: bool,
}

/// Parameters of an M2M token list.
#[derive(Debug, Clone)]
pub(crate) struct TokenQuery {
    pub(crate) subject: String,
    pub(crate) revoked: bool,
    pub(crate) expired: bool,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

/// A new M2M token to mint, after validation.
#[derive(Debug, Clone)]
pub(crate) struct NewToken {
    pub(crate) jwt: bool,
    pub(crate) seconds_until_expiration: Option<f64>,
    pub(crate) claims: Option<Value>,
    pub(crate) min_remaining_ttl_seconds: Option<u64>,
}

/// A JWT-format token to sign: the caller signs it outside the lock.
#[derive(Debug, Clone)]
pub(crate) struct JwtPlan {
    pub(crate) id: String,
    pub(crate) subject: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims: Option<Value>,
    pub(crate) created_at: i64,
    pub(crate) expiration: i64,
}

/// The in-memory instance.
#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) instance_id: String,
    instance_key: String,
    machines: HashMap<String, MachineRec>,
    keys: HashMap<String, KeyRec>,
    tokens: HashMap<String, TokenRec>,
    /// Opaque token secret -> token id.
    token_secrets: HashMap<String, String>,
    seq: u64,
    /// The API keys (of users, organizations and these machines).
    pub(crate) api_keys: super::api_keys::ApiKeyStore,
    /// The OAuth access tokens issued through the test hook.
    pub(crate) oauth: super::oauth::OAuthStore,
}

impl Model {
    /// An empty instance with the given instance key.
    pub(crate) fn new(instance_key: String) -> Self {
        Self {
            instance_id: format!("ins_{}", random_alnum(MACHINE_ID_CHARS)),
            instance_key,
            machines: HashMap::new(),
            keys: HashMap::new(),
            tokens: HashMap::new(),
            token_secrets: HashMap::new(),
            seq: 0,
            api_keys: Default::default(),
            oauth: Default::default(),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Reads `Authorization: Bearer <key>`.
    pub(crate) fn authenticate(&self, authorization: Option<&str>, now: i64) -> Outcome<Caller> {
        let header = authorization.ok_or_else(Failure::unauthenticated)?.trim();
        let (scheme, key) = header.split_once(' ').ok_or_else(Failure::unauthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Failure::unauthenticated());
        }
        let key = key.trim();
        if key == self.instance_key {
            return Ok(Caller::Instance);
        }
        match self.keys.get(key) {
            Some(rec) if rec.expires_at.is_none_or(|at| now < at) => {
                Ok(Caller::Machine(rec.machine_id.clone()))
            }
            _ => Err(Failure::unauthenticated()),
        }
    }

    fn machine(&self, id: &str) -> Outcome<&MachineRec> {
        self.machines.get(id).ok_or_else(|| Failure::not_found("machine"))
    }

    fn machine_mut(&mut self, id: &str) -> Outcome<&mut MachineRec> {
        self.machines.get_mut(id).ok_or_else(|| Failure::not_found("machine"))
    }

    fn without_scopes(&self, m: &MachineRec) -> Outcome<types::MachineWithoutScopedMachines> {
        types::MachineWithoutScopedMachines::builder()
            .created_at(m.created_at)
            .default_token_ttl(m.default_token_ttl)
            .id(m.id.clone())
            .instance_id(self.instance_id.clone())
            .name(m.name.clone())
            .object("machine")
            .updated_at(m.updated_at)
            .try_into()
            .map_err(unbuildable("MachineWithoutScopedMachines"))
    }

    fn scoped_views(&self, m: &MachineRec) -> Outcome<Vec<types::MachineWithoutScopedMachines>> {
        m.scopes
            .iter()
            .filter_map(|(to, _)| self.machines.get(to))
            .map(|target| self.without_scopes(target))
            .collect()
    }

    fn view(&self, m: &MachineRec) -> Outcome<types::Machine> {
        types::Machine::builder()
            .created_at(m.created_at)
            .default_token_ttl(m.default_token_ttl)
            .id(m.id.clone())
            .instance_id(self.instance_id.clone())
            .name(m.name.clone())
            .object("machine")
            .scoped_machines(self.scoped_views(m)?)
            .updated_at(m.updated_at)
            .try_into()
            .map_err(unbuildable("Machine"))
    }

    // ---- Machines -------------------------------------------------------

    /// ListMachines.
    pub(crate) fn list_machines(&self, q: &MachineQuery) -> Outcome<types::ListMachinesResponse> {
        let needle = q.query.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty());
        let mut found: Vec<&MachineRec> = self
            .machines
            .values()
            .filter(|m| match &needle {
                None => true,
                Some(n) => m.id.to_lowercase() == *n || m.name.to_lowercase().contains(n.as_str()),
            })
            .collect();
        if q.by_name {
            found.sort_by(|a, b| a.name.cmp(&b.name).then(a.seq.cmp(&b.seq)));
        } else {
            found.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.seq.cmp(&b.seq)));
        }
        if q.descending {
            found.reverse();
        }
        let total = found.len();
        let data = found
            .into_iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|m| self.view(m))
            .collect::<Outcome<Vec<_>>>()?;
        types::ListMachinesResponse::builder()
            .data(data)
            .total_count(i64::try_from(total).unwrap_or(i64::MAX))
            .try_into()
            .map_err(unbuildable("ListMachinesResponse"))
    }

    /// CreateMachine.
    pub(crate) fn create_machine(
        &mut self,
        name: String,
        scoped: Vec<String>,
        ttl: Option<u64>,
        now: i64,
    ) -> Outcome<types::CreateMachineResponse> {
        let ttl = ttl
            .or_else(|| super::rules::default_u64("CreateMachine", "default_token_ttl"))
            .unwrap_or(FALLBACK_TOKEN_TTL);
        let ttl = positive_ttl(ttl)?;
        let mut targets: Vec<String> = Vec::new();
        for id in scoped {
            if !targets.contains(&id) {
                targets.push(id);
            }
        }
        if targets.len() > max_scopes() {
            return Err(Failure::unprocessable(
                "scoped_machines",
                format!("A machine can be scoped to at most {} machines.", max_scopes()),
            ));
        }
        if let Some(unknown) = targets.iter().find(|id| !self.machines.contains_key(id.as_str())) {
            return Err(Failure::unprocessable(
                "scoped_machines",
                format!("Machine {unknown} does not exist."),
            ));
        }
        let id = loop {
            let candidate = format!("mch_{}", random_alnum(MACHINE_ID_CHARS));
            if !self.machines.contains_key(&candidate) {
                break candidate;
            }
        };
        let secret_key = format!("ak_{}", random_hex(40));
        let seq = self.next_seq();
        let rec = MachineRec {
            id: id.clone(),
            name,
            created_at: now,
            updated_at: now,
            default_token_ttl: ttl,
            seq,
            scopes: targets.into_iter().map(|to| (to, now)).collect(),
            secret_key: secret_key.clone(),
        };
        self.keys.insert(secret_key.clone(), KeyRec { machine_id: id.clone(), expires_at: None });
        let view = self.view(&rec)?;
        self.machines.insert(id, rec);
        types::CreateMachineResponse::builder()
            .created_at(view.created_at)
            .default_token_ttl(view.default_token_ttl)
            .id(view.id)
            .instance_id(view.instance_id)
            .name(view.name)
            .object("machine")
            .scoped_machines(view.scoped_machines)
            .secret_key(secret_key)
            .updated_at(view.updated_at)
            .try_into()
            .map_err(unbuildable("CreateMachineResponse"))
    }

    /// GetMachine.
    pub(crate) fn get_machine(&self, id: &str) -> Outcome<types::Machine> {
        self.view(self.machine(id)?)
    }

    /// UpdateMachine: only the fields given change.
    pub(crate) fn update_machine(
        &mut self,
        id: &str,
        name: Option<String>,
        ttl: Option<u64>,
        now: i64,
    ) -> Outcome<types::Machine> {
        self.machine(id)?;
        let ttl = ttl.map(positive_ttl).transpose()?;
        let rec = self.machine_mut(id)?;
        if let Some(name) = name {
            rec.name = name;
        }
        if let Some(ttl) = ttl {
            rec.default_token_ttl = ttl;
        }
        rec.updated_at = now;
        let rec = rec.clone();
        self.view(&rec)
    }

    /// DeleteMachine: also removes the scopes pointing at it, its keys, its
    /// tokens and its API keys.
    pub(crate) fn delete_machine(&mut self, id: &str) -> Outcome<types::DeleteMachineResponse> {
        let rec = self.machines.remove(id).ok_or_else(|| Failure::not_found("machine"))?;
        self.api_keys.remove_subject(id);
        for other in self.machines.values_mut() {
            other.scopes.retain(|(to, _)| to != id);
        }
        self.keys.retain(|_, key| key.machine_id != rec.id);
        let gone: Vec<String> =
            self.tokens.values().filter(|t| t.subject == rec.id).map(|t| t.id.clone()).collect();
        for token_id in gone {
            if let Some(token) = self.tokens.remove(&token_id) {
                self.token_secrets.remove(&token.token);
            }
        }
        types::DeleteMachineResponse::builder()
            .deleted(true)
            .id(rec.id)
            .object("machine")
            .try_into()
            .map_err(unbuildable("DeleteMachineResponse"))
    }

    /// GetMachineSecretKey.
    pub(crate) fn secret_key(&self, id: &str) -> Outcome<types::GetMachineSecretKeyResponse> {
        let rec = self.machine(id)?;
        types::GetMachineSecretKeyResponse::builder()
            .object("machine_secret_key")
            .secret(rec.secret_key.clone())
            .try_into()
            .map_err(unbuildable("GetMachineSecretKeyResponse"))
    }

    /// RotateMachineSecretKey: the previous keys stay valid for `previous_token_ttl` seconds.
    pub(crate) fn rotate(
        &mut self,
        id: &str,
        previous_token_ttl: u64,
        now: i64,
    ) -> Outcome<types::RotateMachineSecretKeyResponse> {
        self.machine(id)?;
        let grace_ms = i64::try_from(previous_token_ttl).unwrap_or(i64::MAX).saturating_mul(1000);
        let retire_at = now.saturating_add(grace_ms);
        for key in self.keys.values_mut().filter(|k| k.machine_id == id) {
            key.expires_at = Some(key.expires_at.map_or(retire_at, |at| at.min(retire_at)));
        }
        let secret_key = format!("ak_{}", random_hex(40));
        self.keys.insert(secret_key.clone(), KeyRec { machine_id: id.to_owned(), expires_at: None });
        let rec = self.machine_mut(id)?;
        rec.secret_key = secret_key.clone();
        rec.updated_at = now;
        types::RotateMachineSecretKeyResponse::builder()
            .object("machine_secret_key")
            .secret(secret_key)
            .try_into()
            .map_err(unbuildable("RotateMachineSecretKeyResponse"))
    }

    /// CreateMachineScope.
    pub(crate) fn add_scope(&mut self, from: &str, to: &str, now: i64) -> Outcome<types::MachineScope> {
        self.machine(from)?;
        self.machine(to)?;
        let rec = self.machine_mut(from)?;
        if rec.scopes.iter().any(|(t, _)| t == to) {
            return Err(Failure::conflict(format!("Machine {from} is already scoped to machine {to}.")));
        }
        if rec.scopes.len() >= max_scopes() {
            return Err(Failure::unprocessable(
                "to_machine_id",
                format!("A machine can be scoped to at most {} machines.", max_scopes()),
            ));
        }
        rec.scopes.push((to.to_owned(), now));
        types::MachineScope::builder()
            .created_at(now)
            .from_machine_id(from)
            .object("machine_scope")
            .to_machine_id(to)
            .try_into()
            .map_err(unbuildable("MachineScope"))
    }

    /// DeleteMachineScope.
    pub(crate) fn remove_scope(
        &mut self,
        from: &str,
        to: &str,
    ) -> Outcome<types::DeleteMachineScopeResponse> {
        let rec = self.machine_mut(from)?;
        let before = rec.scopes.len();
        rec.scopes.retain(|(t, _)| t != to);
        if rec.scopes.len() == before {
            return Err(Failure::not_found("machine scope"));
        }
        types::DeleteMachineScopeResponse::builder()
            .deleted(true)
            .from_machine_id(from)
            .object("machine_scope")
            .to_machine_id(to)
            .try_into()
            .map_err(unbuildable("DeleteMachineScopeResponse"))
    }

    // ---- M2M tokens -----------------------------------------------------

    fn token_view(&self, t: &TokenRec, now: i64, with_secret: bool) -> TokenView {
        TokenView {
            object: "machine_to_machine_token",
            id: t.id.clone(),
            subject: t.subject.clone(),
            claims: t.claims.clone(),
            scopes: t.scopes.clone(),
            token: with_secret.then(|| t.token.clone()),
            revoked: t.revoked,
            revocation_reason: t.revocation_reason.clone(),
            expired: t.expired(now),
            expiration: t.expiration.map(|e| e as f64),
            last_used_at: t.last_used_at.map(|e| e as f64),
            created_at: t.created_at as f64,
            updated_at: t.updated_at as f64,
        }
    }

    /// createM2MToken, opaque format; for JWT returns the plan to sign.
    pub(crate) fn create_token(&mut self, machine_id: &str, new: NewToken, now: i64) -> Outcome<Minted> {
        let rec = self.machine(machine_id)?;
        let lifetime = match new.seconds_until_expiration {
            Some(seconds) => seconds,
            None => rec.default_token_ttl.get() as f64,
        };
        if let Some(min) = new.min_remaining_ttl_seconds {
            if min as f64 >= lifetime {
                return Err(Failure::bad_request(
                    "min_remaining_ttl_seconds",
                    "min_remaining_ttl_seconds must be less than the token's lifetime.",
                ));
            }
        }
        let scopes: Vec<String> = rec.scopes.iter().map(|(to, _)| to.clone()).collect();
        let expiration = now.saturating_add((lifetime * 1000.0).round() as i64);
        let id = format!("mt_{}", random_hex(32));
        if new.jwt {
            return Ok(Minted::Jwt(JwtPlan {
                id,
                subject: machine_id.to_owned(),
                scopes,
                claims: new.claims,
                // A JWT carries whole seconds.
                created_at: now.div_euclid(1000) * 1000,
                expiration: expiration.div_euclid(1000) * 1000,
            }));
        }
        if let Some(min) = new.min_remaining_ttl_seconds {
            let min_ms = i64::try_from(min).unwrap_or(i64::MAX).saturating_mul(1000);
            let reusable = self
                .tokens
                .values()
                .filter(|t| t.subject == machine_id && !t.revoked && !t.expired(now))
                .filter(|t| t.claims == new.claims && t.scopes == scopes)
                .filter(|t| t.expiration.is_none_or(|at| at - now >= min_ms))
                .max_by_key(|t| t.seq);
            if let Some(existing) = reusable {
                return Ok(Minted::Opaque(self.token_view(existing, now, true)));
            }
        }
        let seq = self.next_seq();
        let token = TokenRec {
            id: id.clone(),
            subject: machine_id.to_owned(),
            token: format!("mt_{}", random_alnum(48)),
            claims: new.claims,
            scopes,
            revoked: false,
            revocation_reason: None,
            expiration: Some(expiration),
            last_used_at: None,
            created_at: now,
            updated_at: now,
            seq,
        };
        let view = self.token_view(&token, now, true);
        self.token_secrets.insert(token.token.clone(), id.clone());
        self.tokens.insert(id, token);
        Ok(Minted::Opaque(view))
    }

    /// getM2MTokens.
    pub(crate) fn list_tokens(
        &self,
        caller: &Caller,
        q: &TokenQuery,
        now: i64,
    ) -> Outcome<types::GetM2mTokensResponse> {
        if let Caller::Machine(own) = caller {
            if *own != q.subject {
                return Err(Failure::forbidden(
                    "A machine secret key can only list the tokens of its own machine.",
                ));
            }
        }
        self.machine(&q.subject)?;
        let mut found: Vec<&TokenRec> = self
            .tokens
            .values()
            .filter(|t| t.subject == q.subject && t.revoked == q.revoked && t.expired(now) == q.expired)
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.seq.cmp(&a.seq)));
        let total = found.len();
        let m2m_tokens = found
            .into_iter()
            .skip(q.offset)
            .take(q.limit)
            .map(|t| self.token_view(t, now, false).into_typed())
            .collect::<Outcome<Vec<types::GetM2mTokensResponseM2mTokensItem>>>()?;
        types::GetM2mTokensResponse::builder()
            .m2m_tokens(m2m_tokens)
            .total_count(total as f64)
            .try_into()
            .map_err(unbuildable("GetM2mTokensResponse"))
    }

    /// revokeM2MToken.
    pub(crate) fn revoke_token(
        &mut self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
        now: i64,
    ) -> Outcome<TokenView> {
        let token = self.tokens.get_mut(id).ok_or_else(|| Failure::not_found("M2M token"))?;
        if let Caller::Machine(own) = caller {
            if token.subject != *own {
                return Err(Failure::not_found("M2M token"));
            }
        }
        if !token.revoked {
            token.revoked = true;
            token.revocation_reason = reason;
            token.updated_at = now;
        }
        let token = token.clone();
        Ok(self.token_view(&token, now, false))
    }

    /// verifyM2MToken for an opaque token.
    pub(crate) fn verify_opaque(&mut self, caller: &Caller, secret: &str, now: i64) -> Outcome<TokenView> {
        let id = self.token_secrets.get(secret).cloned().ok_or_else(|| Failure::not_found("M2M token"))?;
        let token = self.tokens.get_mut(&id).ok_or_else(|| Failure::not_found("M2M token"))?;
        if let Caller::Machine(own) = caller {
            if !token.scopes.contains(own) {
                return Err(Failure::not_found("M2M token"));
            }
        }
        if token.revoked {
            return Err(Failure::bad_request_code("token_revoked", "The M2M token has been revoked."));
        }
        if token.expired(now) {
            return Err(Failure::bad_request_code("token_expired", "The M2M token has expired."));
        }
        token.last_used_at = Some(now);
        let token = token.clone();
        Ok(self.token_view(&token, now, false))
    }

    /// Whether a machine still exists (JWT verification checks its subject).
    pub(crate) fn has_machine(&self, id: &str) -> bool {
        self.machines.contains_key(id)
    }

    /// Builds the view of a verified JWT.
    pub(crate) fn jwt_view(plan: &JwtPlan, token: Option<String>, now: i64) -> TokenView {
        TokenView {
            object: "machine_to_machine_token",
            id: plan.id.clone(),
            subject: plan.subject.clone(),
            claims: plan.claims.clone(),
            scopes: plan.scopes.clone(),
            token,
            revoked: false,
            revocation_reason: None,
            expired: now >= plan.expiration,
            expiration: Some(plan.expiration as f64),
            last_used_at: None,
            created_at: plan.created_at as f64,
            updated_at: plan.created_at as f64,
        }
    }
}

/// What `create_token` produced.
#[derive(Debug)]
pub(crate) enum Minted {
    /// A stored opaque token (new or reused).
    Opaque(TokenView),
    /// A JWT still to be signed.
    Jwt(JwtPlan),
}

/// The failure for a response the fake cannot build from the generated
/// type's builder: the spec made a field required that the fake does not set.
fn unbuildable(what: &'static str) -> impl FnOnce(types::error::ConversionError) -> Failure {
    move |e| {
        Failure::internal(format!(
            "the fake cannot build a {what} response: {e} (the spec requires a field the fake does not know yet)"
        ))
    }
}

/// A default token lifetime as the generated type (the spec's `minimum: 1`
/// has been checked on the way in; a spec allowing 0 is answered as Clerk would).
fn positive_ttl(ttl: u64) -> Outcome<NonZeroU64> {
    NonZeroU64::new(ttl).ok_or_else(|| {
        Failure::unprocessable("default_token_ttl", "default_token_ttl must be at least 1 second.")
    })
}

impl JwtPlan {
    /// The claims Clerk would put in this token.
    pub(crate) fn claims(&self) -> M2mClaims {
        let mut claims = M2mClaims::new(
            &self.subject,
            &self.id,
            self.created_at.div_euclid(1000),
            self.expiration.div_euclid(1000),
        );
        claims.scopes = self.scopes.clone();
        if let Some(Value::Object(custom)) = &self.claims {
            claims.custom = custom.clone();
        }
        claims
    }

    /// The plan back from a token the fake's verifier accepted.
    pub(crate) fn from_verified(token: &VerifiedM2mToken) -> Self {
        let millis = |time: Option<SystemTime>| {
            time.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
        };
        Self {
            id: token.token_id.clone(),
            subject: token.machine_id.clone(),
            scopes: token.scopes.clone(),
            claims: (!token.claims.is_null()).then(|| token.claims.clone()),
            created_at: millis(token.issued_at),
            expiration: millis(token.expires_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clerk_machines::ids::{is_m2m_token_id, is_machine_id};

    #[test]
    fn ids_match_the_spec_patterns() {
        let mut model = Model::new("sk_test_x".into());
        let created = model.create_machine("a".into(), vec![], None, 1).unwrap();
        assert!(is_machine_id(&created.id), "{}", created.id);
        assert!(is_m2m_token_id(&format!("mt_{}", random_hex(32))));
        assert!(!is_m2m_token_id("mt_xyz"));
    }

    #[test]
    fn rotation_keeps_the_old_key_for_the_grace_period() {
        let mut model = Model::new("sk_test_x".into());
        let created = model.create_machine("a".into(), vec![], None, 1_000).unwrap();
        let old = created.secret_key.expose_secret().to_owned();
        model.rotate(&created.id, 10, 2_000).unwrap();
        let header = format!("Bearer {old}");
        assert!(model.authenticate(Some(&header), 11_999).is_ok());
        assert!(model.authenticate(Some(&header), 12_000).is_err());
    }
}
