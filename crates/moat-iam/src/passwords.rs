//! Console passwords (login profiles) and the account password policy.
//!
//! Passwords are stored only as Argon2id PHC strings with a random salt; the plaintext exists
//! in memory for the length of one call and is never stored, logged or echoed in an error. The
//! account password policy (or, without one, IAM's default policy) is enforced on every
//! password set: CreateLoginProfile, UpdateLoginProfile and ChangePassword.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use moat_store::{Reader, Writer};
use moat_types::PrincipalKind;

use crate::common::{timestamp, Call};
use crate::records::{name_key, LoginProfileRecord, PasswordPolicyRecord};
use crate::{
    users, ChangePasswordRequest, CreateLoginProfileRequest, CreateLoginProfileResponse,
    DeleteLoginProfileRequest, GetAccountPasswordPolicyResponse, GetLoginProfileRequest,
    GetLoginProfileResponse, IamError, LoginProfile, PasswordPolicy,
    UpdateAccountPasswordPolicyRequest, UpdateLoginProfileRequest,
};

/// Argon2id cost: OWASP's recommended minimum for a server (19 MiB, 2 passes, 1 lane).
const ARGON2_MEMORY_KIB: u32 = 19_456;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// The password policy is one record per account, under this key.
const POLICY_KEY: &str = "";

/// IAM's default `MinimumPasswordLength` when UpdateAccountPasswordPolicy omits it.
const DEFAULT_MINIMUM_LENGTH: i32 = 6;

/// Without a custom policy, IAM requires 8 characters and three of the four character types.
const NO_POLICY_MINIMUM_LENGTH: usize = 8;

/// The most password hashes a login profile keeps for reuse prevention: IAM's maximum
/// `PasswordReusePrevention` is 24, and the current password is one of them.
const MAX_REMEMBERED: usize = 24;

/// The characters IAM counts as symbols in passwords.
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// Wording IAM uses when a password breaks a rule it does not describe more precisely.
const DOES_NOT_CONFORM: &str = "Password does not conform to the account password policy.";

fn argon2() -> Result<Argon2<'static>, IamError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|e| IamError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// An Argon2id PHC string for `password`, with a fresh random salt.
fn hash_password(password: &str) -> Result<String, IamError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // The error never contains the password; keep the detail for the log anyway.
        .map_err(|e| IamError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches a stored PHC string (its own parameters and salt are used).
fn verify_password(password: &str, phc: &str) -> Result<bool, IamError> {
    let parsed = PasswordHash::new(phc)
        .map_err(|e| IamError::Internal(format!("stored password hash is unreadable: {e}")))?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(e) => Err(IamError::Internal(format!(
            "password verification failed: {e}"
        ))),
    }
}

fn violation(message: impl Into<String>) -> IamError {
    IamError::PasswordPolicyViolation(message.into())
}

/// Checks a new password's composition against the account policy, or IAM's default policy
/// when the account has none. Reuse is checked separately, against the login profile.
fn check_composition(
    password: &str,
    policy: Option<&PasswordPolicyRecord>,
) -> Result<(), IamError> {
    let length = password.chars().count();
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let number = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let Some(p) = policy else {
        if length < NO_POLICY_MINIMUM_LENGTH {
            return Err(violation(format!(
                "Password should have a minimum length of {NO_POLICY_MINIMUM_LENGTH}"
            )));
        }
        let kinds = [upper, lower, number, symbol]
            .iter()
            .filter(|k| **k)
            .count();
        if kinds < 3 {
            return Err(violation(DOES_NOT_CONFORM));
        }
        return Ok(());
    };
    let minimum = usize::try_from(p.minimum_password_length).unwrap_or(0);
    if length < minimum {
        return Err(violation(format!(
            "Password should have a minimum length of {minimum}"
        )));
    }
    if p.require_uppercase_characters && !upper {
        return Err(violation(
            "Password should have at least one uppercase letter",
        ));
    }
    if p.require_lowercase_characters && !lower {
        return Err(violation(
            "Password should have at least one lowercase letter",
        ));
    }
    if p.require_numbers && !number {
        return Err(violation("Password should have at least one number"));
    }
    if p.require_symbols && !symbol {
        return Err(violation("Password should have at least one symbol"));
    }
    Ok(())
}

/// The password hashes a new password may not match under the policy: the current one and
/// the earlier ones, `PasswordReusePrevention` in all.
fn check_reuse(
    password: &str,
    profile: &LoginProfileRecord,
    policy: Option<&PasswordPolicyRecord>,
) -> Result<(), IamError> {
    let remembered = policy
        .and_then(|p| p.password_reuse_prevention)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let recent = std::iter::once(&profile.password_hash)
        .chain(profile.previous_hashes.iter())
        .take(remembered);
    for phc in recent {
        if verify_password(password, phc)? {
            return Err(violation(DOES_NOT_CONFORM));
        }
    }
    Ok(())
}

/// Replaces the profile's password, remembering the old hash for reuse prevention.
fn set_password(
    profile: &mut LoginProfileRecord,
    password: &str,
    now_ms: i64,
) -> Result<(), IamError> {
    let new_hash = hash_password(password)?;
    let old = std::mem::replace(&mut profile.password_hash, new_hash);
    profile.previous_hashes.insert(0, old);
    profile.previous_hashes.truncate(MAX_REMEMBERED - 1);
    profile.password_set_date = Some(now_ms);
    Ok(())
}

fn policy(tx: &impl Reader, c: &Call<'_>) -> Result<Option<PasswordPolicyRecord>, IamError> {
    Ok(tx.get::<PasswordPolicyRecord>(&c.account_key(), POLICY_KEY)?)
}

/// The IAM user a login-profile call is about. The root user has no login profile of its own
/// (its password is not managed through IAM), so a name-less call by root is refused.
fn target_user(
    tx: &impl Reader,
    c: &Call<'_>,
    given: Option<&str>,
) -> Result<crate::records::UserRecord, IamError> {
    let name = c
        .implicit_user(given)?
        .ok_or_else(crate::common::non_user_credentials)?;
    users::require(tx, c.account, &name)
}

fn no_profile(user: &str) -> IamError {
    IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found."))
}

fn require_profile(
    tx: &impl Reader,
    c: &Call<'_>,
    user: &str,
) -> Result<LoginProfileRecord, IamError> {
    tx.get::<LoginProfileRecord>(&c.account_key(), &name_key(user))?
        .ok_or_else(|| no_profile(user))
}

fn wire_profile(user: &str, p: &LoginProfileRecord) -> LoginProfile {
    LoginProfile {
        create_date: timestamp(p.create_date),
        password_reset_required: Some(p.password_reset_required),
        user_name: user.to_owned(),
    }
}

pub fn create_login_profile(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateLoginProfileRequest,
) -> Result<CreateLoginProfileResponse, IamError> {
    let u = target_user(tx, c, i.user_name.as_deref())?;
    let key = name_key(&u.name);
    if tx.exists::<LoginProfileRecord>(&c.account_key(), &key)? {
        return Err(IamError::EntityAlreadyExists(format!(
            "Login Profile for user {} already exists.",
            u.name
        )));
    }
    // Optional in the model only for AssumeRoot sessions, which Moat does not issue.
    let password = i.password.ok_or_else(|| {
        IamError::Validation(
            "1 validation error detected: Value null at 'password' failed to satisfy \
             constraint: Member must not be null"
                .into(),
        )
    })?;
    check_composition(password.expose(), policy(tx, c)?.as_ref())?;
    let now = c.now_ms();
    let record = LoginProfileRecord {
        password_hash: hash_password(password.expose())?,
        create_date: now,
        password_reset_required: i.password_reset_required.unwrap_or(false),
        password_set_date: Some(now),
        previous_hashes: Vec::new(),
    };
    tx.put(&c.account_key(), &key, &record)?;
    Ok(CreateLoginProfileResponse {
        login_profile: wire_profile(&u.name, &record),
    })
}

pub fn get_login_profile(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetLoginProfileRequest,
) -> Result<GetLoginProfileResponse, IamError> {
    let u = target_user(tx, c, i.user_name.as_deref())?;
    let p = require_profile(tx, c, &u.name)?;
    Ok(GetLoginProfileResponse {
        login_profile: wire_profile(&u.name, &p),
    })
}

pub fn update_login_profile(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateLoginProfileRequest,
) -> Result<(), IamError> {
    let u = users::require(tx, c.account, &i.user_name)?;
    let mut p = require_profile(tx, c, &u.name)?;
    if let Some(password) = &i.password {
        let policy = policy(tx, c)?;
        check_composition(password.expose(), policy.as_ref())?;
        check_reuse(password.expose(), &p, policy.as_ref())?;
        set_password(&mut p, password.expose(), c.now_ms())?;
    }
    if let Some(reset) = i.password_reset_required {
        p.password_reset_required = reset;
    }
    tx.put(&c.account_key(), &name_key(&u.name), &p)?;
    Ok(())
}

pub fn delete_login_profile(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteLoginProfileRequest,
) -> Result<(), IamError> {
    let u = target_user(tx, c, i.user_name.as_deref())?;
    if !tx.delete::<LoginProfileRecord>(&c.account_key(), &name_key(&u.name))? {
        return Err(no_profile(&u.name));
    }
    Ok(())
}

/// The error for a caller that is not an IAM user (IAM's `InvalidUserType`).
///
/// `IamError` has no `InvalidUserType` variant yet; until it does, this is the closest
/// sender fault with the same status (400).
fn invalid_user_type() -> IamError {
    IamError::InvalidUserType(
        "The request was rejected because the type of user for the transaction was incorrect."
            .into(),
    )
}

pub fn change_password(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: ChangePasswordRequest,
) -> Result<(), IamError> {
    // Only an IAM user changes their own password this way; the root user's password is not
    // affected by ChangePassword.
    let PrincipalKind::User { name, .. } = &c.principal.kind else {
        return Err(invalid_user_type());
    };
    let u = users::require(tx, c.account, name)?;
    let mut p = require_profile(tx, c, &u.name)?;
    if !verify_password(i.old_password.expose(), &p.password_hash)? {
        return Err(IamError::AccessDenied(
            "The old password is incorrect.".into(),
        ));
    }
    let policy = policy(tx, c)?;
    check_composition(i.new_password.expose(), policy.as_ref())?;
    check_reuse(i.new_password.expose(), &p, policy.as_ref())?;
    set_password(&mut p, i.new_password.expose(), c.now_ms())?;
    // The user has just chosen a password: a pending forced reset is satisfied.
    p.password_reset_required = false;
    tx.put(&c.account_key(), &name_key(&u.name), &p)?;
    Ok(())
}

pub fn update_account_password_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateAccountPasswordPolicyRequest,
) -> Result<(), IamError> {
    // Not a partial update: every omitted parameter takes IAM's default.
    let record = PasswordPolicyRecord {
        minimum_password_length: i.minimum_password_length.unwrap_or(DEFAULT_MINIMUM_LENGTH),
        require_symbols: i.require_symbols.unwrap_or(false),
        require_numbers: i.require_numbers.unwrap_or(false),
        require_uppercase_characters: i.require_uppercase_characters.unwrap_or(false),
        require_lowercase_characters: i.require_lowercase_characters.unwrap_or(false),
        allow_users_to_change_password: i.allow_users_to_change_password.unwrap_or(false),
        max_password_age: i.max_password_age,
        password_reuse_prevention: i.password_reuse_prevention,
        hard_expiry: i.hard_expiry,
    };
    tx.put(&c.account_key(), POLICY_KEY, &record)?;
    Ok(())
}

pub fn get_account_password_policy(
    tx: &impl Reader,
    c: &Call<'_>,
) -> Result<GetAccountPasswordPolicyResponse, IamError> {
    let p = policy(tx, c)?.ok_or_else(|| {
        IamError::NoSuchEntity(format!(
            "The Password Policy with domain name {} cannot be found.",
            c.account_key()
        ))
    })?;
    Ok(GetAccountPasswordPolicyResponse {
        password_policy: PasswordPolicy {
            allow_users_to_change_password: Some(p.allow_users_to_change_password),
            expire_passwords: Some(p.max_password_age.is_some_and(|d| d > 0)),
            hard_expiry: p.hard_expiry,
            max_password_age: p.max_password_age,
            minimum_password_length: Some(p.minimum_password_length),
            password_reuse_prevention: p.password_reuse_prevention,
            require_lowercase_characters: Some(p.require_lowercase_characters),
            require_numbers: Some(p.require_numbers),
            require_symbols: Some(p.require_symbols),
            require_uppercase_characters: Some(p.require_uppercase_characters),
        },
    })
}

pub fn delete_account_password_policy(tx: &mut impl Writer, c: &Call<'_>) -> Result<(), IamError> {
    if !tx.delete::<PasswordPolicyRecord>(&c.account_key(), POLICY_KEY)? {
        return Err(IamError::NoSuchEntity(
            "The account policy with name PasswordPolicy cannot be found.".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Env;
    use moat_types::Principal;
    use serde_json::json;

    const GOOD: &str = "Correct-Horse-9";

    fn user_principal(env: &Env, name: &str) -> Principal {
        let got = env.ok("GetUser", json!({"UserName": name}));
        Principal {
            account: env.root.account,
            kind: PrincipalKind::User {
                name: name.to_owned(),
                path: "/".to_owned(),
            },
            arn: got["User"]["Arn"].as_str().unwrap().to_owned(),
            id: got["User"]["UserId"].as_str().unwrap().to_owned(),
            access_key_id: "AKIAUSER".to_owned(),
            session: None,
        }
    }

    fn stored_profile(env: &Env, user: &str) -> LoginProfileRecord {
        env.iam
            .store()
            .read(|tx| tx.get::<LoginProfileRecord>("123456789012", &name_key(user)))
            .unwrap()
            .unwrap()
    }

    fn change(env: &Env, who: &Principal, old: &str, new: &str) -> Result<(), IamError> {
        env.call_as(
            who,
            "ChangePassword",
            json!({"OldPassword": old, "NewPassword": new}),
        )
        .map(|_| ())
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password(GOOD).unwrap();
        let b = hash_password(GOOD).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(!a.contains(GOOD));
        assert!(verify_password(GOOD, &a).unwrap());
        assert!(!verify_password("wrong", &a).unwrap());
        assert!(matches!(
            verify_password(GOOD, "not a phc string"),
            Err(IamError::Internal(_))
        ));
    }

    #[test]
    fn composition_rules_follow_the_policy() {
        let none = None;
        assert!(check_composition("Abcdef1!", none).is_ok());
        assert!(check_composition("abcdef1!", none).is_ok(), "3 of 4 kinds");
        let e = check_composition("Ab1!", none).unwrap_err();
        assert_eq!(e.to_string(), "Password should have a minimum length of 8");
        let e = check_composition("abcdefgh1", none).unwrap_err();
        assert_eq!(e.to_string(), DOES_NOT_CONFORM);

        let strict = PasswordPolicyRecord {
            minimum_password_length: 10,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            ..PasswordPolicyRecord::default()
        };
        let p = Some(&strict);
        let cases = [
            ("Aa1!", "Password should have a minimum length of 10"),
            (
                "aaaaaaaaa1!",
                "Password should have at least one uppercase letter",
            ),
            (
                "AAAAAAAAA1!",
                "Password should have at least one lowercase letter",
            ),
            ("AAAAAaaaaa!", "Password should have at least one number"),
            ("AAAAAaaaaa1", "Password should have at least one symbol"),
            ("AAAAAaaaaa1.", "Password should have at least one symbol"),
        ];
        for (pw, msg) in cases {
            let e = check_composition(pw, p).unwrap_err();
            assert_eq!(e.to_string(), msg, "{pw}");
            assert!(matches!(e, IamError::PasswordPolicyViolation(_)));
        }
        assert!(check_composition("AAAAAaaaaa1'", p).is_ok());
        // A lenient custom policy replaces the default one entirely.
        let lenient = PasswordPolicyRecord {
            minimum_password_length: 6,
            ..PasswordPolicyRecord::default()
        };
        assert!(check_composition("abcdef", Some(&lenient)).is_ok());
    }

    #[test]
    fn login_profile_lifecycle() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "alice"}));
        let out = env.ok(
            "CreateLoginProfile",
            json!({"UserName": "ALICE", "Password": GOOD}),
        );
        assert_eq!(out["LoginProfile"]["UserName"], "alice");
        assert_eq!(out["LoginProfile"]["PasswordResetRequired"], json!(false));
        assert!(out["LoginProfile"].get("CreateDate").is_some());

        let stored = stored_profile(&env, "alice");
        assert!(stored.password_hash.starts_with("$argon2id$"));
        assert!(!stored.password_hash.contains(GOOD));
        assert!(verify_password(GOOD, &stored.password_hash).unwrap());

        let (code, msg) = env.err(
            "CreateLoginProfile",
            json!({"UserName": "alice", "Password": GOOD}),
        );
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(msg, "Login Profile for user alice already exists.");

        let got = env.ok("GetLoginProfile", json!({"UserName": "alice"}));
        assert_eq!(got["LoginProfile"], out["LoginProfile"]);

        env.ok(
            "UpdateLoginProfile",
            json!({"UserName": "alice", "PasswordResetRequired": true}),
        );
        let got = env.ok("GetLoginProfile", json!({"UserName": "alice"}));
        assert_eq!(got["LoginProfile"]["PasswordResetRequired"], json!(true));
        assert_eq!(
            stored_profile(&env, "alice").password_hash,
            stored.password_hash
        );

        env.ok(
            "UpdateLoginProfile",
            json!({"UserName": "alice", "Password": "Another-Pass-2"}),
        );
        let updated = stored_profile(&env, "alice");
        assert!(verify_password("Another-Pass-2", &updated.password_hash).unwrap());
        assert_eq!(
            updated.previous_hashes,
            std::slice::from_ref(&stored.password_hash)
        );
        assert!(updated.password_reset_required, "unchanged unless given");

        let (code, msg) = env.err("DeleteUser", json!({"UserName": "alice"}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(
            msg,
            "Cannot delete entity, must delete login profile first."
        );

        env.ok("DeleteLoginProfile", json!({"UserName": "alice"}));
        let (code, msg) = env.err("GetLoginProfile", json!({"UserName": "alice"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "Login Profile for User alice cannot be found.");
        let (code, msg) = env.err("DeleteLoginProfile", json!({"UserName": "alice"}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "Login Profile for User alice cannot be found.");
        let (code, msg) = env.err(
            "UpdateLoginProfile",
            json!({"UserName": "alice", "PasswordResetRequired": false}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, "Login Profile for User alice cannot be found.");
        env.ok("DeleteUser", json!({"UserName": "alice"}));
    }

    #[test]
    fn login_profile_errors() {
        let env = Env::new();
        for op in [
            "CreateLoginProfile",
            "GetLoginProfile",
            "DeleteLoginProfile",
        ] {
            let mut input = json!({"UserName": "nonexistent-user"});
            if op == "CreateLoginProfile" {
                input["Password"] = json!(GOOD);
            }
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "NoSuchEntity", "{op}");
            assert_eq!(msg, "The user with name nonexistent-user cannot be found.");
            // The root user has no login profile to manage through IAM.
            let (code, msg) = env.err(op, json!({"Password": GOOD}));
            assert_eq!(code, "ValidationError", "{op}");
            assert_eq!(
                msg,
                "Must specify userName when calling with non-User credentials"
            );
        }
        env.ok("CreateUser", json!({"UserName": "u"}));
        let (code, msg) = env.err("CreateLoginProfile", json!({"UserName": "u"}));
        assert_eq!(code, "ValidationError");
        assert!(msg.contains("'password'"), "{msg}");
        let (code, msg) = env.err(
            "CreateLoginProfile",
            json!({"UserName": "u", "Password": "short"}),
        );
        assert_eq!(code, "PasswordPolicyViolation");
        assert_eq!(msg, "Password should have a minimum length of 8");
        assert!(!msg.contains("short"));
        let (code, _) = env.err("GetLoginProfile", json!({"UserName": "u"}));
        assert_eq!(code, "NoSuchEntity", "a refused password creates nothing");
    }

    #[test]
    fn a_user_reads_their_own_profile_without_naming_themselves() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "bob"}));
        let bob = user_principal(&env, "bob");
        env.ok(
            "CreateLoginProfile",
            json!({"UserName": "bob", "Password": GOOD, "PasswordResetRequired": true}),
        );
        let got = env
            .call_as(&bob, "GetLoginProfile", json!({}))
            .unwrap()
            .to_value()
            .unwrap()
            .unwrap();
        assert_eq!(got["LoginProfile"]["UserName"], "bob");
        assert_eq!(got["LoginProfile"]["PasswordResetRequired"], json!(true));
    }

    #[test]
    fn change_password_verifies_the_old_one_and_clears_a_forced_reset() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "carol"}));
        let carol = user_principal(&env, "carol");
        let err = change(&env, &carol, GOOD, "Brand-New-Pass-1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Login Profile for User carol cannot be found."
        );

        env.ok(
            "CreateLoginProfile",
            json!({"UserName": "carol", "Password": GOOD, "PasswordResetRequired": true}),
        );
        let err = change(&env, &carol, "Not-The-Password-1", "Brand-New-Pass-1").unwrap_err();
        assert!(matches!(err, IamError::AccessDenied(_)), "{err:?}");
        assert!(!err.to_string().contains("Not-The-Password-1"));

        let err = change(&env, &carol, GOOD, "weak").unwrap_err();
        assert!(matches!(err, IamError::PasswordPolicyViolation(_)));

        change(&env, &carol, GOOD, "Brand-New-Pass-1").unwrap();
        let p = stored_profile(&env, "carol");
        assert!(verify_password("Brand-New-Pass-1", &p.password_hash).unwrap());
        assert!(!p.password_reset_required);

        // The root user cannot use ChangePassword.
        let err = change(&env, &env.root, GOOD, "Brand-New-Pass-2").unwrap_err();
        assert!(matches!(err, IamError::InvalidUserType(_)), "{err:?}");
    }

    #[test]
    fn reuse_prevention_remembers_recent_passwords() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "dave"}));
        let dave = user_principal(&env, "dave");
        env.ok(
            "CreateLoginProfile",
            json!({"UserName": "dave", "Password": "Passw0rd-One"}),
        );
        // Without reuse prevention, the same password may be set again.
        env.ok(
            "UpdateLoginProfile",
            json!({"UserName": "dave", "Password": "Passw0rd-One"}),
        );
        env.ok(
            "UpdateAccountPasswordPolicy",
            json!({"MinimumPasswordLength": 8, "PasswordReusePrevention": 2}),
        );
        change(&env, &dave, "Passw0rd-One", "Passw0rd-Two").unwrap();
        // The current and the previous password are both remembered.
        for reused in ["Passw0rd-Two", "Passw0rd-One"] {
            let err = change(&env, &dave, "Passw0rd-Two", reused).unwrap_err();
            assert!(matches!(err, IamError::PasswordPolicyViolation(_)));
            assert_eq!(err.to_string(), DOES_NOT_CONFORM);
        }
        let (code, _) = env.err(
            "UpdateLoginProfile",
            json!({"UserName": "dave", "Password": "Passw0rd-One"}),
        );
        assert_eq!(code, "PasswordPolicyViolation");
        change(&env, &dave, "Passw0rd-Two", "Passw0rd-Three").unwrap();
        // "One" is now three passwords back, beyond the two remembered.
        change(&env, &dave, "Passw0rd-Three", "Passw0rd-One").unwrap();
        assert!(stored_profile(&env, "dave").previous_hashes.len() < MAX_REMEMBERED);
    }

    #[test]
    fn account_password_policy_round_trips_with_defaults() {
        let env = Env::new();
        let (code, msg) = env.err("GetAccountPasswordPolicy", json!({}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            msg,
            "The Password Policy with domain name 123456789012 cannot be found."
        );
        let (code, msg) = env.err("DeleteAccountPasswordPolicy", json!({}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            msg,
            "The account policy with name PasswordPolicy cannot be found."
        );

        env.ok("UpdateAccountPasswordPolicy", json!({}));
        let got = env.ok("GetAccountPasswordPolicy", json!({}));
        assert_eq!(
            got["PasswordPolicy"],
            json!({
                "AllowUsersToChangePassword": false,
                "ExpirePasswords": false,
                "MinimumPasswordLength": 6,
                "RequireLowercaseCharacters": false,
                "RequireNumbers": false,
                "RequireSymbols": false,
                "RequireUppercaseCharacters": false
            })
        );

        env.ok(
            "UpdateAccountPasswordPolicy",
            json!({
                "AllowUsersToChangePassword": true, "HardExpiry": true, "MaxPasswordAge": 60,
                "MinimumPasswordLength": 10, "PasswordReusePrevention": 3,
                "RequireLowercaseCharacters": true, "RequireNumbers": true,
                "RequireSymbols": true, "RequireUppercaseCharacters": true
            }),
        );
        let got = env.ok("GetAccountPasswordPolicy", json!({}));
        assert_eq!(
            got["PasswordPolicy"],
            json!({
                "AllowUsersToChangePassword": true,
                "ExpirePasswords": true,
                "HardExpiry": true,
                "MaxPasswordAge": 60,
                "MinimumPasswordLength": 10,
                "PasswordReusePrevention": 3,
                "RequireLowercaseCharacters": true,
                "RequireNumbers": true,
                "RequireSymbols": true,
                "RequireUppercaseCharacters": true
            })
        );

        // The policy applies to new passwords.
        env.ok("CreateUser", json!({"UserName": "u"}));
        let (code, msg) = env.err(
            "CreateLoginProfile",
            json!({"UserName": "u", "Password": "Abcdefghij1"}),
        );
        assert_eq!(code, "PasswordPolicyViolation");
        assert_eq!(msg, "Password should have at least one symbol");

        // An update replaces the whole policy.
        env.ok(
            "UpdateAccountPasswordPolicy",
            json!({"MinimumPasswordLength": 12}),
        );
        let got = env.ok("GetAccountPasswordPolicy", json!({}));
        assert_eq!(got["PasswordPolicy"]["MinimumPasswordLength"], 12);
        assert_eq!(got["PasswordPolicy"]["RequireSymbols"], json!(false));
        assert!(got["PasswordPolicy"].get("MaxPasswordAge").is_none());

        env.ok("DeleteAccountPasswordPolicy", json!({}));
        assert_eq!(
            env.err("GetAccountPasswordPolicy", json!({})).0,
            "NoSuchEntity"
        );
    }

    #[test]
    fn renaming_a_user_keeps_their_login_profile() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "before"}));
        env.ok(
            "CreateLoginProfile",
            json!({"UserName": "before", "Password": GOOD}),
        );
        env.ok(
            "UpdateUser",
            json!({"UserName": "before", "NewUserName": "after"}),
        );
        let got = env.ok("GetLoginProfile", json!({"UserName": "after"}));
        assert_eq!(got["LoginProfile"]["UserName"], "after");
    }
}
