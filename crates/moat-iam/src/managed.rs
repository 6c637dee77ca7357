//! AWS managed policies (`arn:aws:iam::aws:policy/...`) with their real documents, compiled in
//! from `data/aws-managed-policies.json`.

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawPolicy {
    policy_name: String,
    path: String,
    default_version_id: String,
    create_date: String,
    update_date: String,
    document: String,
}

#[derive(Debug)]
pub struct AwsPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub id: String,
    pub default_version_id: String,
    pub create_date: i64,
    pub update_date: i64,
    pub document: String,
}

const DATA: &str = include_str!("../data/aws-managed-policies.json");

/// All AWS managed policies Moat knows, sorted by name.
pub fn all() -> &'static [AwsPolicy] {
    static POLICIES: OnceLock<Vec<AwsPolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        let raw: Vec<RawPolicy> = serde_json::from_str(DATA).unwrap_or_default();
        let mut out: Vec<AwsPolicy> = raw
            .into_iter()
            .map(|p| AwsPolicy {
                arn: format!("arn:aws:iam::aws:policy{}{}", p.path, p.policy_name),
                id: stable_id(&p.policy_name),
                create_date: parse_date(&p.create_date),
                update_date: parse_date(&p.update_date),
                name: p.policy_name,
                path: p.path,
                default_version_id: p.default_version_id,
                document: p.document,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    })
}

pub fn find(arn: &str) -> Option<&'static AwsPolicy> {
    all().iter().find(|p| p.arn == arn)
}

fn parse_date(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(crate::common::to_ms)
        .unwrap_or(0)
}

/// A policy id that is the same on every node, since AWS managed policies are shared.
fn stable_id(name: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a: not for security, only for a stable spread of ids.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut id = String::from("ANPA");
    for round in 0u8..3 {
        for b in name.bytes().chain(std::iter::once(round)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut x = h;
        for _ in 0..6 {
            if id.len() == 21 {
                break;
            }
            let i = usize::try_from(x % 32).unwrap_or(0);
            id.push(char::from(ALPHABET.get(i).copied().unwrap_or(b'A')));
            x /= 32;
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_policies_are_present_with_valid_documents() {
        for name in [
            "AdministratorAccess",
            "PowerUserAccess",
            "ReadOnlyAccess",
            "IAMFullAccess",
            "IAMReadOnlyAccess",
            "IAMUserChangePassword",
        ] {
            let p = all().iter().find(|p| p.name == name).unwrap();
            assert!(p.arn.starts_with("arn:aws:iam::aws:policy/"));
            assert_eq!(p.id.len(), 21);
            assert!(p.create_date > 0);
            serde_json::from_str::<serde_json::Value>(&p.document).unwrap();
        }
        assert!(find("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(find("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess").is_some());
    }
}
