//! The credential report: one CSV row per user (the root user first) with the state of its
//! password, MFA, access keys and signing certificates, as IAM writes it.
//!
//! GenerateCredentialReport builds the report in its own transaction, so it is complete as
//! soon as the call returns: the first call answers `STARTED` (as AWS does for a new report),
//! later ones `COMPLETE`. As in AWS, a report is reused for four hours (a generate call within
//! them changes nothing), and GetCredentialReport refuses a report older than that
//! (`ReportExpired`); a new generate call then makes a fresh one. Moat has no signing
//! certificates: `cert_*_active` is `false` and `cert_*_last_rotated` is `N/A` for everyone.

use moat_store::{Reader, Writer, GLOBAL};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::common::{timestamp, Call};
use crate::records::{
    name_key, AccessKeyRecord, AccountRecord, CredentialReportRecord, LoginProfileRecord, MfaOwner,
    PasswordPolicyRecord, UserAccessKeyRecord, UserRecord,
};
use crate::{auth, mfa, GenerateCredentialReportResponse, GetCredentialReportResponse, IamError};

/// How long a report is served and reused.
const REPORT_LIFETIME_MS: i64 = 4 * 60 * 60 * 1_000;
/// The report of an account is kept under this key.
const REPORT_KEY: &str = "";
const NA: &str = "N/A";
const NOT_SUPPORTED: &str = "not_supported";
const NO_INFORMATION: &str = "no_information";

/// The columns, in IAM's order.
pub const COLUMNS: &[&str] = &[
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// `2014-10-15T16:30:08+00:00`, as the report writes times.
const TIME_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");

fn iso(ms: i64) -> String {
    timestamp(ms)
        .0
        .to_offset(time::UtcOffset::UTC)
        .format(TIME_FORMAT)
        .unwrap_or_else(|_| NA.to_owned())
}

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// The five columns of one access key (or of none).
fn key_columns(key: Option<&AccessKeyRecord>) -> [String; 5] {
    match key {
        None => [flag(false), NA.into(), NA.into(), NA.into(), NA.into()],
        Some(k) => {
            let (date, region, service) = match &k.last_used {
                Some(u) => (iso(u.date), u.region.clone(), u.service.clone()),
                None => (NA.into(), NA.into(), NA.into()),
            };
            [
                flag(k.status == "Active"),
                iso(k.create_date),
                date,
                region,
                service,
            ]
        }
    }
}

/// A CSV field: quoted when it holds a separator, a quote or a line break.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn row(out: &mut String, user: &str, arn: &str, created: i64, rest: &[String]) {
    let mut fields = vec![field(user), field(arn), iso(created)];
    fields.extend(rest.iter().map(|f| field(f)));
    out.push_str(&fields.join(","));
    out.push('\n');
}

fn sorted_keys(mut keys: Vec<AccessKeyRecord>) -> Vec<AccessKeyRecord> {
    keys.sort_by(|a, b| (a.create_date, &a.access_key_id).cmp(&(b.create_date, &b.access_key_id)));
    keys
}

fn certificate_columns() -> [String; 4] {
    [flag(false), NA.into(), flag(false), NA.into()]
}

/// The report's CSV for the account as it is now.
fn build(tx: &impl Reader, c: &Call<'_>) -> Result<String, IamError> {
    let account = c.account_key();
    let mut out = COLUMNS.join(",");
    out.push('\n');

    // The root user: no console password in Moat, so its password columns are AWS's root
    // values with nothing recorded.
    let created = tx
        .get::<AccountRecord>(GLOBAL, &account)?
        .map_or(0, |a| a.create_date);
    let root_keys = sorted_keys(auth::root_access_keys(tx, c.account)?);
    let mut rest = vec![
        NOT_SUPPORTED.to_owned(),
        NO_INFORMATION.to_owned(),
        NOT_SUPPORTED.to_owned(),
        NOT_SUPPORTED.to_owned(),
        flag(mfa::enabled_count(tx, c.account, &MfaOwner::Root)? > 0),
    ];
    rest.extend(key_columns(root_keys.first()));
    rest.extend(key_columns(root_keys.get(1)));
    rest.extend(certificate_columns());
    row(
        &mut out,
        "<root_account>",
        &moat_types::iam_arn(c.account, "root"),
        created,
        &rest,
    );

    let max_age_days = tx
        .get::<PasswordPolicyRecord>(&account, "")?
        .and_then(|p| p.max_password_age)
        .filter(|d| *d > 0);
    for (_, u) in tx.all::<UserRecord>(&account, "")? {
        let key = name_key(&u.name);
        let profile = tx.get::<LoginProfileRecord>(&account, &key)?;
        let (enabled, last_used, last_changed, next_rotation) = match &profile {
            Some(p) => {
                let changed = p.password_set_date.unwrap_or(p.create_date);
                let next = max_age_days.map_or_else(
                    || NA.to_owned(),
                    |days| iso(changed.saturating_add(i64::from(days).saturating_mul(86_400_000))),
                );
                (
                    true,
                    u.password_last_used
                        .map_or_else(|| NO_INFORMATION.to_owned(), iso),
                    iso(changed),
                    next,
                )
            }
            None => (
                false,
                u.password_last_used.map_or_else(|| NA.to_owned(), iso),
                NA.to_owned(),
                NA.to_owned(),
            ),
        };
        let mut keys = Vec::new();
        for (_, k) in tx.all::<UserAccessKeyRecord>(&account, &format!("{key}/"))? {
            if let Some(record) = tx.get::<AccessKeyRecord>(GLOBAL, &k.access_key_id)? {
                keys.push(record);
            }
        }
        let keys = sorted_keys(keys);
        let mut rest = vec![
            flag(enabled),
            last_used,
            last_changed,
            next_rotation,
            flag(mfa::user_has_devices(tx, c.account, &u.name)?),
        ];
        rest.extend(key_columns(keys.first()));
        rest.extend(key_columns(keys.get(1)));
        rest.extend(certificate_columns());
        row(&mut out, &u.name, &u.arn, u.create_date, &rest);
    }
    Ok(out)
}

fn expired(report: &CredentialReportRecord, now: OffsetDateTime) -> bool {
    crate::common::to_ms(now).saturating_sub(report.generated) > REPORT_LIFETIME_MS
}

pub fn generate_credential_report(
    tx: &mut impl Writer,
    c: &Call<'_>,
) -> Result<GenerateCredentialReportResponse, IamError> {
    let account = c.account_key();
    let current = tx.get::<CredentialReportRecord>(&account, REPORT_KEY)?;
    if let Some(report) = &current {
        if !expired(report, c.now) {
            return Ok(GenerateCredentialReportResponse {
                state: Some("COMPLETE".to_owned()),
                description: None,
            });
        }
    }
    let content = build(tx, c)?;
    tx.put(
        &account,
        REPORT_KEY,
        &CredentialReportRecord {
            generated: c.now_ms(),
            content,
        },
    )?;
    Ok(GenerateCredentialReportResponse {
        state: Some("STARTED".to_owned()),
        description: Some("No report exists. Starting a new report generation task".to_owned()),
    })
}

pub fn get_credential_report(
    tx: &impl Reader,
    c: &Call<'_>,
) -> Result<GetCredentialReportResponse, IamError> {
    let report = tx
        .get::<CredentialReportRecord>(&c.account_key(), REPORT_KEY)?
        .ok_or_else(|| {
            IamError::ReportNotPresent(
                "The credential report does not exist. To generate a credential report, use \
                 GenerateCredentialReport."
                    .to_owned(),
            )
        })?;
    if expired(&report, c.now) {
        return Err(IamError::ReportExpired(
            "The credential report has expired. To generate a new credential report, use \
             GenerateCredentialReport."
                .to_owned(),
        ));
    }
    Ok(GetCredentialReportResponse {
        content: Some(moat_wire::Blob(report.content.into_bytes())),
        report_format: Some("text/csv".to_owned()),
        generated_time: Some(timestamp(report.generated)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Env, ACCOUNT};
    use base64::Engine as _;
    use serde_json::json;
    use time::Duration;

    fn report(env: &Env) -> Vec<Vec<String>> {
        let out = env.ok("GetCredentialReport", json!({}));
        assert_eq!(out["ReportFormat"], "text/csv");
        let csv = base64::engine::general_purpose::STANDARD
            .decode(out["Content"].as_str().unwrap())
            .unwrap();
        String::from_utf8(csv)
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    }

    fn col(rows: &[Vec<String>], user: &str, name: &str) -> String {
        let i = COLUMNS.iter().position(|c| *c == name).unwrap();
        rows.iter().find(|r| r[0] == user).unwrap()[i].clone()
    }

    #[test]
    fn report_lifecycle_states_and_errors() {
        let mut env = Env::new();
        let (code, msg) = env.err("GetCredentialReport", json!({}));
        assert_eq!(code, "ReportNotPresent");
        assert!(msg.contains("GenerateCredentialReport"));
        let first = env.ok("GenerateCredentialReport", json!({}));
        assert_eq!(
            first,
            json!({"State": "STARTED",
                "Description": "No report exists. Starting a new report generation task"})
        );
        assert_eq!(
            env.ok("GenerateCredentialReport", json!({})),
            json!({"State": "COMPLETE"})
        );
        let out = env.ok("GetCredentialReport", json!({}));
        assert!(out.get("GeneratedTime").is_some());

        env.now += Duration::hours(4) + Duration::seconds(1);
        assert_eq!(env.err("GetCredentialReport", json!({})).0, "ReportExpired");
        assert_eq!(
            env.ok("GenerateCredentialReport", json!({}))["State"],
            "STARTED"
        );
        env.ok("GetCredentialReport", json!({}));
    }

    #[test]
    fn rows_follow_iams_format() {
        let mut env = Env::new();
        env.ok("CreateUser", json!({"UserName": "plain"}));
        env.ok("CreateUser", json!({"UserName": "full", "Path": "/eng/"}));
        env.ok(
            "CreateLoginProfile",
            json!({"UserName": "full", "Password": "Correct-Horse-Battery-9"}),
        );
        env.ok("UpdateAccountPasswordPolicy", json!({"MaxPasswordAge": 90}));
        let k1 = env.ok("CreateAccessKey", json!({"UserName": "full"}))["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        // Keys are numbered by creation time; the second is made a moment later.
        env.now += Duration::seconds(1);
        env.ok("CreateAccessKey", json!({"UserName": "full"}));
        crate::auth::record_key_use(env.iam.store(), &k1, "iam", "us-east-1", env.now).unwrap();
        env.ok("GenerateCredentialReport", json!({}));
        let rows = report(&env);
        assert_eq!(rows[0], COLUMNS);
        assert_eq!(rows[1][0], "<root_account>");
        assert_eq!(rows[1][1], format!("arn:aws:iam::{ACCOUNT}:root"));
        assert_eq!(
            col(&rows, "<root_account>", "password_enabled"),
            "not_supported"
        );
        assert_eq!(
            col(&rows, "<root_account>", "password_next_rotation"),
            "not_supported"
        );
        assert_eq!(col(&rows, "<root_account>", "mfa_active"), "false");
        // The bootstrap made one root key.
        assert_eq!(col(&rows, "<root_account>", "access_key_1_active"), "true");
        assert_eq!(col(&rows, "<root_account>", "access_key_2_active"), "false");
        assert_eq!(
            col(&rows, "<root_account>", "access_key_2_last_rotated"),
            "N/A"
        );

        assert_eq!(
            col(&rows, "plain", "arn"),
            format!("arn:aws:iam::{ACCOUNT}:user/plain")
        );
        assert_eq!(
            col(&rows, "plain", "user_creation_time"),
            "2026-11-29T12:00:00+00:00"
        );
        assert_eq!(col(&rows, "plain", "password_enabled"), "false");
        assert_eq!(col(&rows, "plain", "password_last_used"), "N/A");
        assert_eq!(col(&rows, "plain", "password_last_changed"), "N/A");
        assert_eq!(col(&rows, "plain", "access_key_1_active"), "false");
        assert_eq!(col(&rows, "plain", "access_key_1_last_used_date"), "N/A");
        assert_eq!(col(&rows, "plain", "cert_1_active"), "false");
        assert_eq!(col(&rows, "plain", "cert_2_last_rotated"), "N/A");

        assert_eq!(
            col(&rows, "full", "arn"),
            format!("arn:aws:iam::{ACCOUNT}:user/eng/full")
        );
        assert_eq!(col(&rows, "full", "password_enabled"), "true");
        assert_eq!(col(&rows, "full", "password_last_used"), "no_information");
        assert_eq!(
            col(&rows, "full", "password_last_changed"),
            "2026-11-29T12:00:00+00:00"
        );
        assert_eq!(
            col(&rows, "full", "password_next_rotation"),
            "2027-02-27T12:00:00+00:00"
        );
        assert_eq!(col(&rows, "full", "access_key_1_active"), "true");
        assert_eq!(
            col(&rows, "full", "access_key_1_last_used_date"),
            "2026-11-29T12:00:01+00:00"
        );
        assert_eq!(
            col(&rows, "full", "access_key_1_last_used_region"),
            "us-east-1"
        );
        assert_eq!(col(&rows, "full", "access_key_1_last_used_service"), "iam");
        assert_eq!(col(&rows, "full", "access_key_2_active"), "true");
        assert_eq!(col(&rows, "full", "access_key_2_last_used_service"), "N/A");
        assert!(rows.iter().all(|r| r.len() == COLUMNS.len()));
        env.ok("DeleteAccountPasswordPolicy", json!({}));
    }

    #[test]
    fn fields_with_separators_are_quoted() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("a\"b"), "\"a\"\"b\"");
        assert_eq!(field("plain"), "plain");
    }
}
