//! AssumeRoleWithWebIdentity: a caller without AWS credentials presents a JWT from an OpenID
//! Connect provider registered with IAM, and gets a session of a role whose trust policy
//! allows that provider's users.
//!
//! The token is verified before the trust policy is weighed (its claims are the policy's
//! condition keys): the issuer (`iss`) names the provider, registered in the role's account;
//! the signature is checked against the provider's published keys (its
//! `/.well-known/openid-configuration`, then `jwks_uri`, cached per issuer); `aud` (or `azp`)
//! must be one of the provider's client ids; `exp`, `nbf` and `iat` are checked against the
//! injected clock. Fetching keys is blocking network I/O: the pipeline runs
//! [`Sts::authenticate_web_identity`] on its blocking pool.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration as StdDuration;

use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moat_iam::oidc_providers::{find_by_issuer, is_loopback_host, OidcProviderRecord};
use moat_policy::ContextValue;
use moat_types::{AccountId, Principal, PrincipalKind};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::token::{Claims, SessionIdentity};
use crate::{
    packed_size, parse_role_arn, role_session_duration, AssumeRoleWithWebIdentityRequest,
    AssumeRoleWithWebIdentityResponse, AssumedRoleUser, Call, Sts, StsError,
};

/// How long an issuer's keys are used before they are fetched again.
const KEYS_CACHED_FOR: Duration = Duration::minutes(5);
/// A token signed with a key not among the cached ones makes the keys be fetched again (the
/// issuer may have rotated them), at most this often per issuer.
const REFETCH_AT_MOST_EVERY: Duration = Duration::seconds(30);
/// How far ahead of this node's clock an issuer's clock may run (`nbf`, `iat`).
const CLOCK_TOLERANCE: Duration = Duration::minutes(5);
/// The largest discovery document or key set read.
const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024;
/// More issuers than this cached at once and the cache starts over.
const MAX_CACHED_ISSUERS: usize = 1_000;

/// The signature algorithms accepted: asymmetric only, never `none` or a shared secret.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

const NOT_A_JWT: &str =
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";
const NOT_VALIDATED: &str = "The web identity token provided could not be validated. See the \
                             AssumeRoleWithWebIdentity documentation for requirements.";
const NO_KEYS: &str = "Couldn't retrieve verification key from your identity provider,  please \
                       reference AssumeRoleWithWebIdentity documentation for requirements";

/// Fetches a document over HTTP(S): the seam tests replace.
pub trait Fetch: Send + Sync {
    /// The body of a `200` answer to `GET url`.
    fn get(&self, url: &str) -> Result<Vec<u8>, String>;
}

/// The real fetcher: `https://` anywhere, and `http://` on loopback hosts only when the
/// server allows insecure loopback issuers. Redirects are not followed, so a loopback
/// allowance never reaches another host.
pub struct HttpFetch {
    agent: ureq::Agent,
    allow_insecure_loopback: bool,
}

impl HttpFetch {
    pub fn new(allow_insecure_loopback: bool) -> HttpFetch {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(StdDuration::from_secs(5))
            .timeout(StdDuration::from_secs(10))
            .redirects(0)
            .build();
        HttpFetch {
            agent,
            allow_insecure_loopback,
        }
    }
}

impl Fetch for HttpFetch {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        if !fetchable(url, self.allow_insecure_loopback) {
            return Err(format!("`{url}` is not an https URL"));
        }
        let response = self.agent.get(url).call().map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(response.into_reader(), MAX_DOCUMENT_BYTES),
            &mut body,
        )
        .map_err(|e| e.to_string())?;
        Ok(body)
    }
}

/// Whether keys may be fetched from `url`.
fn fetchable(url: &str, allow_insecure_loopback: bool) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return true;
    }
    let Some(rest) = lower.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    allow_insecure_loopback && is_loopback_host(host)
}

/// Issuers' signing keys, cached.
pub struct KeyCache {
    fetch: Arc<dyn Fetch>,
    entries: Mutex<HashMap<String, CachedKeys>>,
}

#[derive(Clone)]
struct CachedKeys {
    fetched_at: OffsetDateTime,
    keys: Arc<Vec<Jwk>>,
}

impl KeyCache {
    pub fn new(fetch: Arc<dyn Fetch>) -> KeyCache {
        KeyCache {
            fetch,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The issuer's keys: cached ones while fresh, unless `refresh` asks for new ones and the
    /// cached ones are not brand new.
    fn keys(
        &self,
        issuer: &str,
        now: OffsetDateTime,
        refresh: bool,
    ) -> Result<Arc<Vec<Jwk>>, StsError> {
        if let Some(cached) = self.entries.lock().get(issuer).cloned() {
            let age = now - cached.fetched_at;
            let fresh = age < KEYS_CACHED_FOR && age >= Duration::ZERO;
            if fresh && !(refresh && age >= REFETCH_AT_MOST_EVERY) {
                return Ok(cached.keys);
            }
        }
        let keys = Arc::new(self.fetch_keys(issuer).map_err(|e| {
            tracing::info!(issuer, error = %e, "cannot fetch an OpenID Connect provider's keys");
            StsError::IdpCommunication(NO_KEYS.to_owned())
        })?);
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_CACHED_ISSUERS {
            entries.clear();
        }
        entries.insert(
            issuer.to_owned(),
            CachedKeys {
                fetched_at: now,
                keys: keys.clone(),
            },
        );
        Ok(keys)
    }

    /// Discovery document, then key set. Keys that cannot be used (unknown types, encryption
    /// keys) are left out rather than failing the set.
    fn fetch_keys(&self, issuer: &str) -> Result<Vec<Jwk>, String> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document: Value = serde_json::from_slice(&self.fetch.get(&discovery)?)
            .map_err(|e| format!("{discovery}: {e}"))?;
        let jwks_uri = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{discovery} names no jwks_uri"))?;
        let set: Value = serde_json::from_slice(&self.fetch.get(jwks_uri)?)
            .map_err(|e| format!("{jwks_uri}: {e}"))?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{jwks_uri} holds no keys"))?;
        Ok(keys
            .iter()
            .filter(|k| k.get("use").and_then(Value::as_str) != Some("enc"))
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect())
    }
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub provider_arn: String,
    /// The issuer as the token names it (`https://host/path`).
    pub issuer: String,
    /// `host/path`: the prefix of the provider's condition keys.
    pub provider_name: String,
    pub subject: String,
    /// The client id the token was issued to, one of the provider's.
    pub audience: String,
    pub claims: Map<String, Value>,
}

impl VerifiedToken {
    /// The condition keys the role's trust policy sees: `host/path:aud`, `:sub`, `:amr`,
    /// `:oaud`, `:azp`, `:email`, and `aws:FederatedProvider`.
    pub fn condition_keys(&self) -> Vec<(String, ContextValue)> {
        let name = &self.provider_name;
        let mut keys = vec![
            (
                format!("{name}:aud"),
                ContextValue::from(self.audience.as_str()),
            ),
            (
                format!("{name}:sub"),
                ContextValue::from(self.subject.as_str()),
            ),
            (
                "aws:FederatedProvider".to_owned(),
                ContextValue::from(self.provider_arn.as_str()),
            ),
        ];
        if let Some(aud) = self.claims.get("aud") {
            keys.push((format!("{name}:oaud"), ContextValue::from(strings(aud))));
        }
        if let Some(amr) = self.claims.get("amr") {
            keys.push((format!("{name}:amr"), ContextValue::from(strings(amr))));
        }
        for claim in ["azp", "email"] {
            if let Some(v) = self.claims.get(claim).and_then(Value::as_str) {
                keys.push((format!("{name}:{claim}"), ContextValue::from(v)));
            }
        }
        keys
    }
}

/// A claim that is a string or a list of strings, as a list.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn invalid(message: &str) -> StsError {
    StsError::InvalidIdentityToken(message.to_owned())
}

/// The claims of a JWT, read without checking anything: to find the issuer whose keys check
/// it.
fn unverified_claims(token: &str) -> Result<Map<String, Value>, StsError> {
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(NOT_A_JWT));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| invalid(NOT_A_JWT))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(invalid(NOT_A_JWT)),
    }
}

/// A NumericDate claim (integer or fractional seconds), whole seconds.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, StsError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e15)
                    .map(|f| f.floor() as i64)
            })
            .map(Some)
            .ok_or_else(|| invalid(NOT_A_JWT)),
    }
}

/// Checks a token against a registered provider's keys and claims rules.
pub fn verify(
    token: &str,
    provider: &OidcProviderRecord,
    keys: &dyn Fn(bool) -> Result<Arc<Vec<Jwk>>, StsError>,
    now: OffsetDateTime,
) -> Result<VerifiedToken, StsError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid(NOT_A_JWT))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid(NOT_VALIDATED));
    }
    let find = |set: &[Jwk]| -> Option<Jwk> {
        match &header.kid {
            Some(kid) => set
                .iter()
                .find(|k| k.common.key_id.as_deref() == Some(kid))
                .cloned(),
            // Without a key id, a set of one key names it.
            None => match set {
                [only] => Some(only.clone()),
                _ => None,
            },
        }
    };
    let jwk = match find(&keys(false)?) {
        Some(k) => k,
        // The issuer may have rotated its keys since they were cached.
        None => find(&keys(true)?).ok_or_else(|| invalid(NOT_VALIDATED))?,
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid(NOT_VALIDATED))?;
    let mut validation = Validation::new(header.alg);
    // Times and audience are checked below, against the injected clock and the provider.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|_| invalid(NOT_VALIDATED))?;
    let claims = data.claims;

    let now_s = now.unix_timestamp();
    let exp = numeric_date(&claims, "exp")?.ok_or_else(|| invalid(NOT_VALIDATED))?;
    if exp <= now_s {
        return Err(StsError::ExpiredToken(format!(
            "Token expired: current date/time {now_s} must be before the expiration date/time \
             {exp}"
        )));
    }
    let tolerance = CLOCK_TOLERANCE.whole_seconds();
    if numeric_date(&claims, "nbf")?.is_some_and(|nbf| nbf > now_s + tolerance) {
        return Err(invalid(NOT_VALIDATED));
    }
    if numeric_date(&claims, "iat")?.is_some_and(|iat| iat > now_s + tolerance) {
        return Err(invalid(NOT_VALIDATED));
    }

    let audiences = claims.get("aud").map(strings).unwrap_or_default();
    let azp = claims.get("azp").and_then(Value::as_str);
    let audience = audiences
        .iter()
        .map(String::as_str)
        .chain(azp)
        .find(|a| provider.client_ids.iter().any(|c| c == a))
        .ok_or_else(|| invalid("Incorrect token audience"))?
        .to_owned();
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(NOT_VALIDATED))?
        .to_owned();
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(VerifiedToken {
        provider_arn: provider.arn.clone(),
        provider_name: provider.name().to_owned(),
        issuer,
        subject,
        audience,
        claims,
    })
}

/// A token verified during authentication, for the call's execution to use.
pub(crate) type VerifiedSlot = Arc<OnceLock<VerifiedToken>>;

impl Sts {
    /// Who an AssumeRoleWithWebIdentity caller is, by its token: the provider it names must be
    /// registered in the role's account, and the token must verify. Blocking network I/O on
    /// the first use of an issuer (and every few minutes after).
    pub(crate) fn verify_web_identity(
        &self,
        role_arn: &str,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<(Principal, VerifiedToken), StsError> {
        let Some((account, _)) = parse_role_arn(role_arn) else {
            return Err(StsError::Validation(format!("{role_arn} is invalid")));
        };
        let claims = unverified_claims(token)?;
        let issuer = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(NOT_A_JWT))?;
        let provider = self
            .store
            .read(|tx| find_by_issuer(tx, account, issuer))?
            .ok_or_else(|| {
                invalid(&format!(
                    "No OpenIDConnect provider found in your account for {issuer}"
                ))
            })?;
        let keys = |refresh: bool| self.web_keys.keys(&provider.url, now, refresh);
        let verified = verify(token, &provider, &keys, now)?;
        Ok((web_identity_principal(account, &verified), verified))
    }

    pub(crate) fn assume_role_with_web_identity(
        &self,
        c: &Call<'_>,
        i: AssumeRoleWithWebIdentityRequest,
        verified: Option<&VerifiedToken>,
    ) -> Result<AssumeRoleWithWebIdentityResponse, StsError> {
        // INVARIANT of the pipeline: authentication verified the token before authorization
        // let the call run. Without it, nothing is issued.
        let Some(token) = verified else {
            return Err(invalid(NOT_VALIDATED));
        };
        let denied = || {
            StsError::AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity".into())
        };
        let Some((account, role)) = self.find_role(&i.role_arn)? else {
            return Err(denied());
        };
        let duration = role_session_duration(i.duration_seconds, &role, false)?;
        let policy_arns =
            self.session_policies(account, i.policy.as_deref(), i.policy_arns.as_deref())?;
        let packed = packed_size(i.policy.as_deref(), &policy_arns, &[])?;
        let source_identity = token
            .claims
            .get("https://aws.amazon.com/source_identity")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let claims = Claims {
            account: account.to_string(),
            identity: SessionIdentity::Role {
                name: role.name.clone(),
                path: role.path.clone(),
                id: role.id.clone(),
                session_name: i.role_session_name.clone(),
            },
            secret_access_key: moat_types::new_secret_access_key(),
            issued_at: c.now.unix_timestamp(),
            expires_at: (c.now + Duration::seconds(duration)).unix_timestamp(),
            mfa_authenticated_at: None,
            policy: i.policy.clone(),
            policy_arns,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: source_identity.clone(),
            chained: false,
            web_identity: true,
        };
        let has_packed = i.policy.is_some() || !claims.policy_arns.is_empty();
        Ok(AssumeRoleWithWebIdentityResponse {
            credentials: Some(self.credentials(account, &claims, c.now)?),
            subject_from_web_identity_token: Some(token.subject.clone()),
            assumed_role_user: Some(AssumedRoleUser {
                arn: format!(
                    "arn:aws:sts::{account}:assumed-role/{}/{}",
                    role.name, i.role_session_name
                ),
                assumed_role_id: format!("{}:{}", role.id, i.role_session_name),
            }),
            packed_policy_size: has_packed.then(|| i32::try_from(packed).unwrap_or(i32::MAX)),
            provider: Some(token.issuer.clone()),
            audience: Some(token.audience.clone()),
            source_identity,
        })
    }
}

/// The caller a verified token stands for.
fn web_identity_principal(account: AccountId, token: &VerifiedToken) -> Principal {
    Principal {
        account,
        kind: PrincipalKind::WebIdentity {
            provider_arn: token.provider_arn.clone(),
            issuer: token.provider_name.clone(),
            subject: token.subject.clone(),
        },
        arn: String::new(),
        // As CloudTrail's principalId of a web identity user: `issuer:audience:subject`.
        id: format!(
            "{}:{}:{}",
            token.provider_name, token.audience, token.subject
        ),
        access_key_id: String::new(),
        session: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use serde_json::json;

    /// A 2048-bit RSA key made for these tests alone.
    const RSA_PEM: &str = include_str!("../tests/data/test-rsa-key.pem");
    const RSA_N: &str = include_str!("../tests/data/test-rsa-n.txt");
    const ISSUER: &str = "https://issuer.example/tenant";
    const NOW: i64 = 1_800_000_000;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    fn provider() -> OidcProviderRecord {
        OidcProviderRecord {
            url: ISSUER.to_owned(),
            arn: "arn:aws:iam::123456789012:oidc-provider/issuer.example/tenant".to_owned(),
            client_ids: vec!["app".to_owned()],
            thumbprints: Vec::new(),
            create_date: 0,
            tags: Vec::new(),
        }
    }

    fn rsa_jwk(kid: &str) -> Jwk {
        serde_json::from_value(json!({
            "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
            "n": RSA_N.trim(), "e": "AQAB"
        }))
        .unwrap()
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "aud": "app", "sub": "repo:org/app", "iat": NOW - 10,
            "nbf": NOW - 10, "exp": NOW + 600, "amr": ["pwd", "mfa"]})
    }

    fn rs256(kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        let key = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    fn fixed(keys: Vec<Jwk>) -> impl Fn(bool) -> Result<Arc<Vec<Jwk>>, StsError> {
        let keys = Arc::new(keys);
        move |_| Ok(keys.clone())
    }

    fn code_and_message(e: StsError) -> (String, String) {
        use moat_wire::AwsError as _;
        (e.code().to_owned(), e.client_message())
    }

    #[test]
    fn a_good_rs256_token_verifies_with_its_claims_as_condition_keys() {
        let token = rs256("k1", &claims());
        let v = verify(&token, &provider(), &fixed(vec![rsa_jwk("k1")]), now()).unwrap();
        assert_eq!(v.subject, "repo:org/app");
        assert_eq!(v.audience, "app");
        assert_eq!(v.issuer, ISSUER);
        let keys: HashMap<String, ContextValue> = v.condition_keys().into_iter().collect();
        assert_eq!(
            keys["issuer.example/tenant:sub"],
            ContextValue::from("repo:org/app")
        );
        assert_eq!(keys["issuer.example/tenant:aud"], ContextValue::from("app"));
        assert_eq!(
            keys["issuer.example/tenant:amr"],
            ContextValue::from(vec!["pwd".to_owned(), "mfa".to_owned()])
        );
    }

    #[test]
    fn a_good_es256_token_verifies() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // An uncompressed point: 0x04, then x and y.
        let point = pair.public_key().as_ref();
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "kid": "ec1",
            "x": b64(&point[1..33]), "y": b64(&point[33..65])
        }))
        .unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("ec1".to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
        .unwrap();
        let v = verify(&token, &provider(), &fixed(vec![jwk]), now()).unwrap();
        assert_eq!(v.subject, "repo:org/app");
    }

    #[test]
    fn bad_tokens_are_refused_as_sts_words_it() {
        let keys = fixed(vec![rsa_jwk("k1")]);
        let refuse =
            |token: &str| code_and_message(verify(token, &provider(), &keys, now()).unwrap_err());

        // Tampered payload: the signature no longer matches.
        let good = rs256("k1", &claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let mut other = claims();
        other["sub"] = json!("someone-else");
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&other).unwrap());
        parts[1] = &forged;
        assert_eq!(
            refuse(&parts.join(".")),
            ("InvalidIdentityToken".to_owned(), NOT_VALIDATED.to_owned())
        );
        // An unknown key id, even after fetching again.
        assert_eq!(refuse(&rs256("k2", &claims())).0, "InvalidIdentityToken");
        // Not a JWT at all.
        assert_eq!(
            refuse("not-a-jwt"),
            ("InvalidIdentityToken".to_owned(), NOT_A_JWT.to_owned())
        );
        // `alg: none`.
        let none = format!(
            "{}.{}.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            parts[1]
        );
        assert_eq!(refuse(&none).0, "InvalidIdentityToken");
        // Wrong audience.
        let mut c = claims();
        c["aud"] = json!("other-app");
        assert_eq!(
            refuse(&rs256("k1", &c)),
            (
                "InvalidIdentityToken".to_owned(),
                "Incorrect token audience".to_owned()
            )
        );
        // ... unless the authorized party is a registered client.
        c["aud"] = json!(["other-app", "third"]);
        c["azp"] = json!("app");
        let v = verify(&rs256("k1", &c), &provider(), &keys, now()).unwrap();
        assert_eq!(v.audience, "app");
        // Expired.
        let mut c = claims();
        c["exp"] = json!(NOW - 1);
        assert_eq!(
            refuse(&rs256("k1", &c)),
            (
                "ExpiredTokenException".to_owned(),
                format!(
                    "Token expired: current date/time {NOW} must be before the expiration \
                     date/time {}",
                    NOW - 1
                )
            )
        );
        // Not yet valid, beyond the tolerance; within it, fine.
        let mut c = claims();
        c["nbf"] = json!(NOW + 301);
        assert_eq!(refuse(&rs256("k1", &c)).0, "InvalidIdentityToken");
        c["nbf"] = json!(NOW + 299);
        assert!(verify(&rs256("k1", &c), &provider(), &keys, now()).is_ok());
        let mut c = claims();
        c["iat"] = json!(NOW + 3600);
        assert_eq!(refuse(&rs256("k1", &c)).0, "InvalidIdentityToken");
        // No expiry at all.
        let mut c = claims();
        c.as_object_mut().unwrap().remove("exp");
        assert_eq!(refuse(&rs256("k1", &c)).0, "InvalidIdentityToken");
    }

    #[test]
    fn rotated_keys_are_fetched_again() {
        struct Rotating(Mutex<u32>);
        impl Fetch for Rotating {
            fn get(&self, url: &str) -> Result<Vec<u8>, String> {
                if url.ends_with("openid-configuration") {
                    return Ok(br#"{"jwks_uri": "https://issuer.example/keys"}"#.to_vec());
                }
                let mut n = self.0.lock();
                *n += 1;
                let kid = if *n == 1 { "old" } else { "k1" };
                let jwk = serde_json::to_value(rsa_jwk(kid)).unwrap();
                Ok(serde_json::to_vec(&json!({"keys": [jwk, {"kty": "weird"}]})).unwrap())
            }
        }
        let fetch = Arc::new(Rotating(Mutex::new(0)));
        let cache = KeyCache::new(fetch.clone());
        let token = rs256("k1", &claims());
        let start = now();
        // First fetch has only `old`; within 30 s no second fetch is made.
        let keys = |refresh| cache.keys(ISSUER, start, refresh);
        assert!(verify(&token, &provider(), &keys, start).is_err());
        assert_eq!(*fetch.0.lock(), 1);
        // Later the unknown key id makes it fetch again, and the token verifies.
        let later = start + Duration::seconds(31);
        let keys = |refresh| cache.keys(ISSUER, later, refresh);
        assert!(verify(&token, &provider(), &keys, later).is_ok());
        assert_eq!(*fetch.0.lock(), 2);
        // Cached keys serve the next call without a fetch.
        assert!(verify(&token, &provider(), &keys, later).is_ok());
        assert_eq!(*fetch.0.lock(), 2);
    }

    #[test]
    fn unreachable_keys_are_an_idp_communication_error() {
        struct Down;
        impl Fetch for Down {
            fn get(&self, _: &str) -> Result<Vec<u8>, String> {
                Err("connection refused".to_owned())
            }
        }
        let cache = KeyCache::new(Arc::new(Down));
        let (code, message) = code_and_message(cache.keys(ISSUER, now(), false).unwrap_err());
        assert_eq!(code, "IDPCommunicationError");
        assert_eq!(message, NO_KEYS);
    }

    #[test]
    fn keys_are_fetched_over_https_or_from_allowed_loopback_only() {
        assert!(fetchable("https://issuer.example/keys", false));
        assert!(!fetchable("http://127.0.0.1:9000/keys", false));
        assert!(fetchable("http://127.0.0.1:9000/keys", true));
        assert!(fetchable("http://localhost/keys", true));
        assert!(fetchable("http://[::1]:8/keys", true));
        assert!(!fetchable("http://example.com/keys", true));
        assert!(!fetchable("http://127.0.0.1@example.com/keys", true));
        assert!(!fetchable("file:///etc/passwd", true));
    }
}
