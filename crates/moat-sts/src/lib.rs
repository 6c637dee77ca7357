//! STS: temporary credentials. Each operation is declared in `Sts::prepare` (its action, the
//! resource it is authorized against, whether it needs authorization at all) with its
//! behaviour; session tokens are sealed by [`token`].
//!
//! Wire shapes are generated from the botocore model (`build.rs`).

pub mod authorization_message;
mod error;
pub mod token;
pub mod web_identity;

pub use error::StsError;

include!(concat!(env!("OUT_DIR"), "/sts_types.rs"));

use std::sync::{Arc, OnceLock};

use moat_iam::records::{name_key, RoleRecord};
use moat_iam::{Target, TargetPolicy};
use moat_policy::{ContextValue, PolicyKind, ResourcePolicyKind};
use moat_store::{Reader, Store};
use moat_types::{new_secret_access_key, AccountId, Principal, PrincipalKind};
use moat_wire::{ServiceModel, Timestamp};
use time::{Duration, OffsetDateTime};

use crate::token::{Claims, SessionIdentity, TokenKeys};

static MODEL: OnceLock<Option<ServiceModel>> = OnceLock::new();
const MODEL_JSON: &str = include_str!("../../../models/sts/service-2.json");

/// STS's botocore model, parsed once.
pub fn model() -> &'static ServiceModel {
    #[expect(clippy::expect_used, reason = "the model is compiled in and tested")]
    // INVARIANT: MODEL_JSON is the checked-in botocore model; `model_loads` tests it parses.
    MODEL
        .get_or_init(|| ServiceModel::from_json(MODEL_JSON).ok())
        .as_ref()
        .expect("the embedded STS model parses")
}

/// A session's shortest life, and the default and longest of each kind (AWS's limits).
const MIN_DURATION: i64 = 900;
const USER_SESSION_DEFAULT: i64 = 43_200;
const USER_SESSION_MAX: i64 = 129_600;
const ROOT_SESSION_MAX: i64 = 3_600;
const ROLE_SESSION_DEFAULT: i64 = 3_600;
/// A role session created with another role session's credentials lasts at most an hour.
const CHAINED_MAX: i64 = 3_600;
/// The packed size limit of session policies and tags, as a percentage AWS reports.
const PACKED_LIMIT_CHARS: usize = 2_048;
const MAX_POLICY_ARNS: usize = 10;

/// What the pipeline knows of a call when it runs.
pub struct Call<'a> {
    pub principal: &'a Principal,
    pub now: OffsetDateTime,
}

/// An operation's behaviour; the third argument is the outcome of its MFA code when that was
/// checked during authorization.
type Exec = Box<
    dyn for<'a, 'b> FnOnce(
            &'a Sts,
            &'a Call<'b>,
            Option<Option<OffsetDateTime>>,
        ) -> Result<Response, StsError>
        + Send,
>;

/// A decoded request with its declaration, ready to authorize and run.
pub struct Prepared {
    pub operation: &'static str,
    /// Whether the caller's policies are consulted at all: GetCallerIdentity and
    /// GetSessionToken need no permission, as in AWS.
    pub needs_authorization: bool,
    /// Further actions the request needs on the same resource (`sts:TagSession`,
    /// `sts:SetSourceIdentity`), as AWS requires them of the trust policy.
    pub extra_actions: Vec<&'static str>,
    target: TargetDecl,
    /// The outcome of the request's MFA code, once checked: AssumeRole's is checked while its
    /// trust policy is weighed (which sees `aws:MultiFactorAuthPresent`), and used once.
    mfa: std::sync::OnceLock<Option<OffsetDateTime>>,
    exec: Exec,
}

/// What an operation is authorized against.
enum TargetDecl {
    Any,
    /// `sts:AssumeRole` on a role, with its trust policy and the request's keys, and the MFA
    /// device and code the request presents, if any.
    Role {
        arn: String,
        keys: Vec<(String, ContextValue)>,
        mfa: Option<(Option<String>, Option<String>)>,
    },
    /// `sts:AssumeRoleWithWebIdentity` on a role: the caller is known by its token, whose
    /// verified claims become keys of the trust policy.
    WebIdentity {
        arn: String,
        token: String,
        keys: Vec<(String, ContextValue)>,
        verified: web_identity::VerifiedSlot,
    },
}

impl Prepared {
    /// `sts:AssumeRole`.
    pub fn action(&self) -> String {
        format!("sts:{}", self.operation)
    }
}

/// The STS service over a store.
#[derive(Clone)]
pub struct Sts {
    store: Store,
    keys: Arc<TokenKeys>,
    clock: Arc<dyn moat_types::Clock>,
    /// OpenID Connect providers' signing keys, for AssumeRoleWithWebIdentity.
    web_keys: Arc<web_identity::KeyCache>,
}

impl Sts {
    pub fn new(store: Store, clock: Arc<dyn moat_types::Clock>) -> Self {
        let keys = Arc::new(TokenKeys::new(store.clone()));
        let fetch = Arc::new(web_identity::HttpFetch::new(false));
        Sts {
            store,
            keys,
            clock,
            web_keys: Arc::new(web_identity::KeyCache::new(fetch)),
        }
    }

    /// Fetches identity providers' keys with `fetch` (tests serve their own).
    pub fn with_fetch(mut self, fetch: Arc<dyn web_identity::Fetch>) -> Self {
        self.web_keys = Arc::new(web_identity::KeyCache::new(fetch));
        self
    }

    /// Admits `http://` identity providers on loopback hosts, for tests that run their own
    /// issuer (`--allow-insecure-oidc-loopback`).
    pub fn with_insecure_oidc_loopback(self, allow: bool) -> Self {
        self.with_fetch(Arc::new(web_identity::HttpFetch::new(allow)))
    }

    pub fn token_keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// Declares an operation: what it is authorized against, and its behaviour.
    pub fn prepare(request: Request) -> Prepared {
        use Request as Q;
        use Response as S;
        let operation = request.operation_name();
        let mut extra_actions = Vec::new();
        let (needs_authorization, target, exec): (bool, TargetDecl, Exec) = match request {
            Q::GetCallerIdentity(_) => (
                false,
                TargetDecl::Any,
                Box::new(|_, c, _| Ok(S::GetCallerIdentity(get_caller_identity(c)))),
            ),
            Q::GetSessionToken(i) => (
                false,
                TargetDecl::Any,
                Box::new(move |sts, c, _| sts.get_session_token(c, i).map(S::GetSessionToken)),
            ),
            Q::AssumeRole(i) => {
                if i.tags.as_ref().is_some_and(|t| !t.is_empty())
                    || i.transitive_tag_keys
                        .as_ref()
                        .is_some_and(|t| !t.is_empty())
                {
                    extra_actions.push("sts:TagSession");
                }
                if i.source_identity.is_some() {
                    extra_actions.push("sts:SetSourceIdentity");
                }
                (
                    true,
                    TargetDecl::Role {
                        arn: i.role_arn.clone(),
                        keys: assume_role_keys(&i),
                        mfa: (i.serial_number.is_some() || i.token_code.is_some())
                            .then(|| (i.serial_number.clone(), i.token_code.clone())),
                    },
                    Box::new(move |sts, c, mfa| sts.assume_role(c, i, mfa).map(S::AssumeRole)),
                )
            }
            Q::DecodeAuthorizationMessage(i) => (
                true,
                TargetDecl::Any,
                Box::new(move |sts, c, _| {
                    sts.decode_authorization_message(c, &i)
                        .map(S::DecodeAuthorizationMessage)
                }),
            ),
            Q::GetAccessKeyInfo(i) => (
                true,
                TargetDecl::Any,
                Box::new(move |sts, _, _| sts.get_access_key_info(&i).map(S::GetAccessKeyInfo)),
            ),
            Q::AssumeRoleWithWebIdentity(i) => {
                let verified = web_identity::VerifiedSlot::default();
                let slot = verified.clone();
                (
                    true,
                    TargetDecl::WebIdentity {
                        arn: i.role_arn.clone(),
                        token: i.web_identity_token.0.clone(),
                        keys: vec![(
                            "sts:RoleSessionName".to_owned(),
                            ContextValue::from(i.role_session_name.as_str()),
                        )],
                        verified,
                    },
                    Box::new(move |sts, c, _| {
                        sts.assume_role_with_web_identity(c, i, slot.get())
                            .map(S::AssumeRoleWithWebIdentity)
                    }),
                )
            }
        };
        Prepared {
            operation,
            needs_authorization,
            extra_actions,
            target,
            mfa: std::sync::OnceLock::new(),
            exec,
        }
    }

    /// What a prepared call is authorized against: for AssumeRole the role with its trust
    /// policy (a role that does not exist is authorized against its ARN alone, and then
    /// refused as AWS does, without saying whether it exists).
    pub fn target(&self, caller: &Principal, prepared: &Prepared) -> Result<Target, StsError> {
        let (arn, keys) = match &prepared.target {
            TargetDecl::Any => return Ok(Target::new("*".to_owned(), Vec::new())),
            TargetDecl::Role { arn, keys, mfa } => {
                let mut keys = keys.clone();
                if let Some((serial, code)) = mfa {
                    let call = Call {
                        principal: caller,
                        now: self.clock.now(),
                    };
                    let checked = match prepared.mfa.get() {
                        Some(done) => *done,
                        None => {
                            let done = self.check_mfa(&call, serial.as_deref(), code.as_deref())?;
                            let _ = prepared.mfa.set(done);
                            done
                        }
                    };
                    if checked.is_some() {
                        keys.push((
                            "aws:MultiFactorAuthPresent".to_owned(),
                            ContextValue::from(true),
                        ));
                        keys.push(("aws:MultiFactorAuthAge".to_owned(), ContextValue::from(0)));
                    }
                }
                inherited_keys(caller, &mut keys);
                (arn, keys)
            }
            TargetDecl::WebIdentity {
                arn,
                keys,
                verified,
                ..
            } => {
                let mut keys = keys.clone();
                keys.extend(
                    verified
                        .get()
                        .map(|v| v.condition_keys())
                        .unwrap_or_default(),
                );
                (arn, keys)
            }
        };
        let mut target = Target::new(arn.clone(), keys);
        if let Some((account, role)) = self.find_role(arn)? {
            target.resource_policy = Some(TargetPolicy {
                id: role.arn.clone(),
                document: Arc::from(role.assume_role_policy_document.as_str()),
                kind: ResourcePolicyKind::RoleTrust,
            });
            target.resource_account = Some(account.to_string());
        }
        Ok(target)
    }

    /// For a call whose caller is known by a token in its input rather than by a signature
    /// (AssumeRoleWithWebIdentity): that caller before its token is checked, attributed to the
    /// account of the role it asks for. `None` for every other call, or a malformed role ARN.
    pub fn token_caller(&self, prepared: &Prepared) -> Option<Principal> {
        match &prepared.target {
            TargetDecl::WebIdentity { arn, .. } => {
                parse_role_arn(arn).map(|(account, _)| Principal::web_identity_caller(account))
            }
            _ => None,
        }
    }

    /// Whether the call authenticates its caller by a token in its input.
    pub fn authenticates_by_token(prepared: &Prepared) -> bool {
        matches!(prepared.target, TargetDecl::WebIdentity { .. })
    }

    /// Verifies the call's web identity token and returns the caller it stands for; its claims
    /// then take part in authorization and execution. Blocking: it may fetch the identity
    /// provider's keys.
    pub fn authenticate_token(
        &self,
        prepared: &Prepared,
        now: OffsetDateTime,
    ) -> Result<Principal, StsError> {
        let TargetDecl::WebIdentity {
            arn,
            token,
            verified,
            ..
        } = &prepared.target
        else {
            return Err(StsError::AccessDenied(
                "The call carries no web identity token.".to_owned(),
            ));
        };
        let (principal, token) = self.verify_web_identity(arn, token, now)?;
        // Set once per call: authentication runs once, before authorization.
        let _ = verified.set(token);
        Ok(principal)
    }

    pub fn execute(&self, prepared: Prepared, call: &Call<'_>) -> Result<Response, StsError> {
        let mfa = prepared.mfa.get().copied();
        (prepared.exec)(self, call, mfa)
    }

    /// The role an ARN names, with its account; `None` for a malformed ARN or an unknown
    /// role. ARNs name roles by path and name; the name alone is unique in its account.
    fn find_role(&self, arn: &str) -> Result<Option<(AccountId, RoleRecord)>, StsError> {
        let Some((account, name)) = parse_role_arn(arn) else {
            return Ok(None);
        };
        let role = self
            .store
            .read(|tx| tx.get::<RoleRecord>(&account.to_string(), &name_key(name)))?;
        Ok(role.filter(|r| r.arn == arn).map(|r| (account, r)))
    }

    fn get_session_token(
        &self,
        c: &Call<'_>,
        i: GetSessionTokenRequest,
    ) -> Result<GetSessionTokenResponse, StsError> {
        if c.principal.session.is_some() {
            return Err(StsError::AccessDenied(
                "Cannot call GetSessionToken with session credentials".to_owned(),
            ));
        }
        let identity = match &c.principal.kind {
            PrincipalKind::Root => SessionIdentity::Root,
            PrincipalKind::User { name, path } => SessionIdentity::User {
                name: name.clone(),
                path: path.clone(),
                id: c.principal.id.clone(),
            },
            PrincipalKind::AssumedRole { .. } | PrincipalKind::WebIdentity { .. } => {
                return Err(StsError::AccessDenied(
                    "Cannot call GetSessionToken with session credentials".to_owned(),
                ))
            }
        };
        let requested = i.duration_seconds.map(i64::from);
        let duration = if c.principal.is_root() {
            // Root sessions last at most an hour; longer requests get the hour, as in AWS.
            requested.unwrap_or(ROOT_SESSION_MAX).min(ROOT_SESSION_MAX)
        } else {
            requested.unwrap_or(USER_SESSION_DEFAULT)
        };
        check_duration(duration, USER_SESSION_MAX)?;
        let mfa_authenticated_at =
            self.check_mfa(c, i.serial_number.as_deref(), i.token_code.as_deref())?;
        let claims = Claims {
            account: c.principal.account.to_string(),
            identity,
            secret_access_key: new_secret_access_key(),
            issued_at: c.now.unix_timestamp(),
            expires_at: (c.now + Duration::seconds(duration)).unix_timestamp(),
            mfa_authenticated_at: mfa_authenticated_at.map(OffsetDateTime::unix_timestamp),
            policy: None,
            policy_arns: Vec::new(),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
            chained: false,
            web_identity: false,
        };
        Ok(GetSessionTokenResponse {
            credentials: Some(self.credentials(c.principal.account, &claims, c.now)?),
        })
    }

    fn assume_role(
        &self,
        c: &Call<'_>,
        i: AssumeRoleRequest,
        mfa_checked: Option<Option<OffsetDateTime>>,
    ) -> Result<AssumeRoleResponse, StsError> {
        let caller = c.principal;
        if caller.is_root() {
            return Err(StsError::AccessDenied(
                "Roles may not be assumed by root accounts.".to_owned(),
            ));
        }
        let denied = || {
            StsError::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                caller.arn, i.role_arn
            ))
        };
        if parse_role_arn(&i.role_arn).is_none() {
            return Err(StsError::Validation(format!("{} is invalid", i.role_arn)));
        }
        let Some((account, role)) = self.find_role(&i.role_arn)? else {
            return Err(denied());
        };
        let caller_session = caller.session.as_deref();
        let chained = matches!(caller.kind, PrincipalKind::AssumedRole { .. });
        let duration = role_session_duration(i.duration_seconds, &role, chained)?;
        let policy_arns =
            self.session_policies(account, i.policy.as_deref(), i.policy_arns.as_deref())?;

        // Session tags: the caller's transitive tags pass on and cannot be overridden.
        let mut tags: Vec<(String, String)> = Vec::new();
        let mut transitive: Vec<String> = Vec::new();
        if let Some(s) = caller_session {
            for key in &s.transitive_tag_keys {
                if let Some((k, v)) = s.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                    tags.push((k.clone(), v.clone()));
                    transitive.push(k.clone());
                }
            }
        }
        for tag in i.tags.iter().flatten() {
            if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&tag.key)) {
                return Err(StsError::InvalidParameterValue(format!(
                    "One or more of the specified session tags cannot be overridden: {}",
                    tag.key
                )));
            }
            tags.push((tag.key.clone(), tag.value.clone()));
        }
        for key in i.transitive_tag_keys.iter().flatten() {
            if !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                return Err(StsError::InvalidParameterValue(format!(
                    "The transitive tag key {key} is not among the session tags."
                )));
            }
            if !transitive.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                transitive.push(key.clone());
            }
        }
        let packed = packed_size(i.policy.as_deref(), &policy_arns, &tags)?;

        // Source identity: once set on a session, it stays with every session made from it.
        let source_identity = match (
            caller_session.and_then(|s| s.source_identity.clone()),
            &i.source_identity,
        ) {
            (Some(existing), Some(given)) if &existing != given => {
                return Err(StsError::AccessDenied(
                    "The source identity of a role session cannot be changed.".to_owned(),
                ))
            }
            (Some(existing), _) => Some(existing),
            (None, given) => given.clone(),
        };
        // The code was checked (and used up) when the trust policy was weighed.
        let mfa = match mfa_checked {
            Some(checked) => checked,
            None => self.check_mfa(c, i.serial_number.as_deref(), i.token_code.as_deref())?,
        };
        let mfa_authenticated_at = match mfa {
            Some(at) => Some(at),
            // A chained session keeps the MFA state of the session it came from.
            None => caller_session.and_then(|s| s.mfa_authenticated_at),
        };

        let claims = Claims {
            account: account.to_string(),
            identity: SessionIdentity::Role {
                name: role.name.clone(),
                path: role.path.clone(),
                id: role.id.clone(),
                session_name: i.role_session_name.clone(),
            },
            secret_access_key: new_secret_access_key(),
            issued_at: c.now.unix_timestamp(),
            expires_at: (c.now + Duration::seconds(duration)).unix_timestamp(),
            mfa_authenticated_at: mfa_authenticated_at.map(OffsetDateTime::unix_timestamp),
            policy: i.policy.clone(),
            policy_arns,
            tags,
            transitive_tag_keys: transitive,
            source_identity: source_identity.clone(),
            chained,
            web_identity: false,
        };
        let has_packed =
            i.policy.is_some() || !claims.policy_arns.is_empty() || !claims.tags.is_empty();
        Ok(AssumeRoleResponse {
            credentials: Some(self.credentials(account, &claims, c.now)?),
            assumed_role_user: Some(AssumedRoleUser {
                arn: format!(
                    "arn:aws:sts::{account}:assumed-role/{}/{}",
                    role.name, i.role_session_name
                ),
                assumed_role_id: format!("{}:{}", role.id, i.role_session_name),
            }),
            packed_policy_size: has_packed.then(|| i32::try_from(packed).unwrap_or(i32::MAX)),
            source_identity,
        })
    }

    /// Checks the MFA code a request presents against the caller's device: `Some(now)` when
    /// it is valid (each code works once; repeated failures lock the device for a while),
    /// `None` when the request presents none.
    fn check_mfa(
        &self,
        c: &Call<'_>,
        serial_number: Option<&str>,
        token_code: Option<&str>,
    ) -> Result<Option<OffsetDateTime>, StsError> {
        let (serial, code) = match (serial_number, token_code) {
            (None, None) => return Ok(None),
            (Some(serial), Some(code)) => (serial, code),
            _ => {
                return Err(StsError::AccessDenied(
                    "MultiFactorAuthentication failed, unable to validate MFA code.".to_owned(),
                ))
            }
        };
        let owner = match &c.principal.kind {
            PrincipalKind::Root => None,
            PrincipalKind::User { name, .. } => Some(name.as_str()),
            // A role session or web identity has no MFA device of its own.
            PrincipalKind::AssumedRole { .. } | PrincipalKind::WebIdentity { .. } => {
                return Err(mfa_failed())
            }
        };
        let valid = self.store.write(|tx| {
            moat_iam::mfa::check_code(tx, c.principal.account, serial, owner, code, c.now)
        })?;
        if valid {
            Ok(Some(c.now))
        } else {
            Err(mfa_failed())
        }
    }

    /// Checks a new session's policies: the inline one must parse, the managed ones (at most
    /// ten) must exist in `account`. Returns the managed policies' ARNs.
    fn session_policies(
        &self,
        account: AccountId,
        policy: Option<&str>,
        policy_arns: Option<&[PolicyDescriptorType]>,
    ) -> Result<Vec<String>, StsError> {
        if let Some(document) = policy {
            moat_policy::parse(document, PolicyKind::Session)
                .map_err(|e| StsError::MalformedPolicyDocument(e.to_string()))?;
        }
        let arns: Vec<String> = policy_arns
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.arn.clone())
            .collect();
        if arns.len() > MAX_POLICY_ARNS {
            return Err(StsError::Validation(format!(
                "1 validation error detected: Value at 'policyArns' failed to satisfy \
                 constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
            )));
        }
        self.store.read(|tx| {
            for arn in &arns {
                if moat_iam::authorization::managed_policy(tx, account, arn)?.is_none() {
                    return Err(StsError::InvalidParameterValue(format!(
                        "Policy {arn} does not exist or is not attachable."
                    )));
                }
            }
            Ok(())
        })?;
        Ok(arns)
    }

    fn decode_authorization_message(
        &self,
        c: &Call<'_>,
        i: &DecodeAuthorizationMessageRequest,
    ) -> Result<DecodeAuthorizationMessageResponse, StsError> {
        let decoded = authorization_message::decode(
            &self.keys,
            &c.principal.account.to_string(),
            &i.encoded_message,
        )
        .ok_or_else(|| {
            StsError::InvalidAuthorizationMessage(
                "The specified encoded message is not valid.".to_owned(),
            )
        })?;
        Ok(DecodeAuthorizationMessageResponse {
            decoded_message: Some(decoded),
        })
    }

    fn get_access_key_info(
        &self,
        i: &GetAccessKeyInfoRequest,
    ) -> Result<GetAccessKeyInfoResponse, StsError> {
        let account = if let Some(account) = account_of_temporary_key(&i.access_key_id) {
            Some(account.to_string())
        } else {
            self.store.read(|tx| {
                Ok::<_, StsError>(
                    tx.get::<moat_iam::records::AccessKeyRecord>(
                        moat_store::GLOBAL,
                        &i.access_key_id,
                    )?
                    .map(|k| k.account),
                )
            })?
        };
        match account {
            Some(account) => Ok(GetAccessKeyInfoResponse {
                account: Some(account),
            }),
            None => Err(StsError::InvalidParameterValue(format!(
                "The access key ID {} is not valid.",
                i.access_key_id
            ))),
        }
    }

    fn credentials(
        &self,
        account: AccountId,
        claims: &Claims,
        now: OffsetDateTime,
    ) -> Result<Credentials, StsError> {
        let access_key_id = new_temporary_key_id(account);
        let session_token = self.keys.issue(&access_key_id, claims, now)?;
        Ok(Credentials {
            access_key_id,
            secret_access_key: moat_wire::Sensitive(claims.secret_access_key.clone()),
            session_token,
            expiration: Timestamp(claims.expires_at()),
        })
    }
}

fn mfa_failed() -> StsError {
    StsError::AccessDenied(
        "MultiFactorAuthentication failed with invalid MFA one time pass code.".to_owned(),
    )
}

fn get_caller_identity(c: &Call<'_>) -> GetCallerIdentityResponse {
    GetCallerIdentityResponse {
        account: Some(c.principal.account.to_string()),
        arn: Some(c.principal.arn.clone()),
        user_id: Some(c.principal.id.clone()),
    }
}

/// A role session's duration: 1 hour by default, up to the role's MaxSessionDuration, and at
/// most an hour for a session made with another role session's credentials.
fn role_session_duration(
    requested: Option<i32>,
    role: &RoleRecord,
    chained: bool,
) -> Result<i64, StsError> {
    let duration = requested.map_or(ROLE_SESSION_DEFAULT, i64::from);
    if chained && duration > CHAINED_MAX {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed \
             by role chaining."
                .to_owned(),
        ));
    }
    let max = i64::from(role.max_session_duration);
    if duration > max {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    check_duration(duration, max)?;
    Ok(duration)
}

fn check_duration(duration: i64, max: i64) -> Result<(), StsError> {
    if (MIN_DURATION..=max).contains(&duration) {
        Ok(())
    } else {
        Err(StsError::Validation(format!(
            "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to \
             satisfy constraint: Member must have value {}",
            if duration < MIN_DURATION {
                format!("greater than or equal to {MIN_DURATION}")
            } else {
                format!("less than or equal to {max}")
            }
        )))
    }
}

/// `arn:aws:iam::ACCOUNT:role/PATH/NAME` -> (account, name).
fn parse_role_arn(arn: &str) -> Option<(AccountId, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let account: AccountId = account.parse().ok()?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next().filter(|n| !n.is_empty())?;
    Some((account, name))
}

/// The condition keys an AssumeRole request brings to the trust policy.
fn assume_role_keys(i: &AssumeRoleRequest) -> Vec<(String, ContextValue)> {
    let mut keys: Vec<(String, ContextValue)> = vec![(
        "sts:RoleSessionName".to_owned(),
        ContextValue::from(i.role_session_name.as_str()),
    )];
    if let Some(id) = &i.external_id {
        keys.push(("sts:ExternalId".to_owned(), ContextValue::from(id.as_str())));
    }
    if let Some(source) = &i.source_identity {
        keys.push((
            "sts:SourceIdentity".to_owned(),
            ContextValue::from(source.as_str()),
        ));
    }
    let tags = i.tags.as_deref().unwrap_or_default();
    for tag in tags {
        keys.push((
            format!("aws:RequestTag/{}", tag.key),
            ContextValue::from(tag.value.as_str()),
        ));
    }
    if !tags.is_empty() {
        keys.push((
            "aws:TagKeys".to_owned(),
            ContextValue::from(tags.iter().map(|t| t.key.clone()).collect::<Vec<_>>()),
        ));
    }
    if let Some(transitive) = &i.transitive_tag_keys {
        keys.push((
            "sts:TransitiveTagKeys".to_owned(),
            ContextValue::from(transitive.clone()),
        ));
    }
    keys
}

/// Keys of the caller's own session that a role's trust policy sees: a chained session's
/// source identity.
fn inherited_keys(caller: &Principal, keys: &mut Vec<(String, ContextValue)>) {
    if let Some(source) = caller
        .session
        .as_ref()
        .and_then(|s| s.source_identity.as_ref())
    {
        if !keys.iter().any(|(k, _)| k == "sts:SourceIdentity") {
            keys.push((
                "sts:SourceIdentity".to_owned(),
                ContextValue::from(source.as_str()),
            ));
        }
    }
}

/// How much of the packed allowance session policies and tags use, in percent, as AWS
/// reports it; `PackedPolicyTooLarge` past the allowance.
fn packed_size(
    policy: Option<&str>,
    policy_arns: &[String],
    tags: &[(String, String)],
) -> Result<usize, StsError> {
    let policy = policy.map_or(0, moat_policy::non_whitespace_len);
    let arns: usize = policy_arns.iter().map(String::len).sum();
    let tags: usize = tags.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let packed = (policy + arns + tags) * 100 / PACKED_LIMIT_CHARS;
    if packed > 100 {
        return Err(StsError::PackedPolicyTooLarge(format!(
            "Packed policy consumes {packed}% of allotted space, please use smaller policy for \
             your request."
        )));
    }
    Ok(packed)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh `ASIA...` key id that carries its account, as AWS's key ids do, so that
/// GetAccessKeyInfo can answer for temporary keys without storing them: 40 bits of account id
/// and 40 random bits, in base32.
fn new_temporary_key_id(account: AccountId) -> String {
    let account: u64 = account.to_string().parse().unwrap_or(0);
    let random: u64 = rand_u40();
    let bits: u128 = (u128::from(account & 0xff_ffff_ffff) << 40) | u128::from(random);
    let mut id = String::with_capacity(20);
    id.push_str("ASIA");
    for i in (0..16).rev() {
        let index = usize::try_from((bits >> (i * 5)) & 0x1f).unwrap_or(0);
        id.push(char::from(BASE32.get(index).copied().unwrap_or(b'A')));
    }
    id
}

fn rand_u40() -> u64 {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    // An all-zero fallback only weakens the key id's uniqueness, never a secret.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    u64::from_be_bytes(bytes) & 0xff_ffff_ffff
}

/// The account an `ASIA...` key id of this deployment carries.
fn account_of_temporary_key(key: &str) -> Option<AccountId> {
    let body = key.strip_prefix("ASIA")?;
    if body.len() != 16 {
        return None;
    }
    let mut bits: u128 = 0;
    for b in body.bytes() {
        let v = BASE32.iter().position(|&c| c == b)?;
        bits = (bits << 5) | u128::try_from(v).ok()?;
    }
    let account = u64::try_from(bits >> 40).ok()?;
    format!("{account:012}").parse().ok()
}

#[cfg(test)]
mod tests {
    /// STS outputs written to query XML from their typed structs give the very bytes the
    /// value walk gave from their values.
    #[test]
    fn outputs_encode_identically_from_their_types() {
        let expiration = moat_wire::Timestamp(time::macros::datetime!(2026-11-29 13:00:00.5 UTC));
        let credentials = Credentials {
            access_key_id: "ASIAEXAMPLE".to_owned(),
            expiration,
            secret_access_key: moat_wire::Sensitive("s/e+c=r&t".to_owned()),
            session_token: "token<&>".to_owned(),
        };
        let responses = [
            Response::AssumeRole(AssumeRoleResponse {
                assumed_role_user: Some(AssumedRoleUser {
                    arn: "arn:aws:sts::123456789012:assumed-role/app/s".to_owned(),
                    assumed_role_id: "AROAEXAMPLE:s".to_owned(),
                }),
                credentials: Some(credentials.clone()),
                packed_policy_size: Some(6),
                source_identity: None,
            }),
            Response::GetSessionToken(GetSessionTokenResponse {
                credentials: Some(credentials),
            }),
            Response::GetCallerIdentity(GetCallerIdentityResponse {
                account: Some("123456789012".to_owned()),
                arn: Some("arn:aws:iam::123456789012:root".to_owned()),
                user_id: None,
            }),
        ];
        for response in responses {
            let op = response.operation_name();
            let value = response.to_value().unwrap();
            let walked =
                moat_wire::query::reference::encode_output(model(), op, value.as_ref(), "r");
            let output = response.into_output();
            let typed =
                moat_wire::query::encode_output(model(), op, output.as_deref(), "r").unwrap();
            assert_eq!(typed, walked);
        }
    }

    use super::*;

    #[test]
    fn model_loads() {
        let m = model();
        for op in OPERATION_NAMES {
            assert!(m.operation(op).is_some(), "{op} missing from the model");
        }
    }

    #[test]
    fn temporary_key_ids_carry_their_account() {
        let account: AccountId = "123456789012".parse().unwrap();
        let id = new_temporary_key_id(account);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("ASIA"));
        assert_eq!(account_of_temporary_key(&id), Some(account));
        assert_ne!(id, new_temporary_key_id(account));
        assert_eq!(account_of_temporary_key("AKIAIOSFODNN7EXAMPLE"), None);
    }

    #[test]
    fn role_arns_parse() {
        let (account, name) = parse_role_arn("arn:aws:iam::123456789012:role/ci/Deploy").unwrap();
        assert_eq!(account.to_string(), "123456789012");
        assert_eq!(name, "Deploy");
        assert!(parse_role_arn("arn:aws:iam::123456789012:user/Deploy").is_none());
        assert!(parse_role_arn("arn:aws:iam::12345:role/Deploy").is_none());
    }
}
