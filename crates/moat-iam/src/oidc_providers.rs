//! IAM OpenID Connect identity providers: the issuers whose tokens AssumeRoleWithWebIdentity
//! accepts, with the audiences (client ids) allowed and the thumbprints registered.
//!
//! A provider is named by its URL without the scheme (`host/path`), which is also the end of
//! its ARN (`arn:aws:iam::ACCOUNT:oidc-provider/host/path`) and the prefix of the condition
//! keys a trust policy sees (`host/path:sub`). The issuer must be `https://`; with the
//! server's `--allow-insecure-oidc-loopback` a `http://` issuer on a loopback host is admitted
//! too, for tests.

use moat_store::{Reader, Record, Writer};
use moat_types::{iam_arn, AccountId};
use serde::{Deserialize, Serialize};

use crate::common::{
    merge_tags, paginate_vec, remove_tags, tags_from, timestamp, wire_tags, wire_tags_opt, Call,
};
use crate::records::TagRecord;
use crate::{
    AddClientIDToOpenIDConnectProviderRequest, CreateOpenIDConnectProviderRequest,
    CreateOpenIDConnectProviderResponse, DeleteOpenIDConnectProviderRequest,
    GetOpenIDConnectProviderRequest, GetOpenIDConnectProviderResponse, IamError,
    ListOpenIDConnectProviderTagsRequest, ListOpenIDConnectProviderTagsResponse,
    ListOpenIDConnectProvidersResponse, OpenIDConnectProviderListEntry,
    RemoveClientIDFromOpenIDConnectProviderRequest, TagOpenIDConnectProviderRequest,
    UntagOpenIDConnectProviderRequest, UpdateOpenIDConnectProviderThumbprintRequest,
};

/// IAM's default quotas.
pub const MAX_PROVIDERS: u64 = 100;
pub const MAX_CLIENT_IDS: usize = 100;
pub const MAX_THUMBPRINTS: usize = 5;

/// An OIDC provider; keyed by [`provider_key`] of its URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcProviderRecord {
    /// The issuer as registered, scheme included (`https://host/path`): what tokens' `iss`
    /// must equal and where the keys are fetched from.
    pub url: String,
    pub arn: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub create_date: i64,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
}

impl Record for OidcProviderRecord {
    const KIND: &'static str = "iam.oidc_provider";
}

impl OidcProviderRecord {
    /// The URL without its scheme, as GetOpenIDConnectProvider returns it and condition keys
    /// are prefixed with.
    pub fn name(&self) -> &str {
        strip_scheme(&self.url).unwrap_or(&self.url)
    }
}

/// An issuer URL, checked: `https://host[:port][/path]`, or with `allow_loopback` also
/// `http://` on `127.0.0.1`, `localhost` or `[::1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerUrl {
    /// As given.
    pub url: String,
    /// Without the scheme: `host[:port][/path]`.
    pub name: String,
}

/// What an issuer URL may be.
pub fn parse_issuer(url: &str, allow_loopback: bool) -> Result<IssuerUrl, IamError> {
    let invalid = || IamError::InvalidInput("Invalid Open ID Connect Provider URL.".to_owned());
    let (secure, rest) = if let Some(rest) = strip_prefix_ci(url, "https://") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ci(url, "http://") {
        (false, rest)
    } else {
        return Err(invalid());
    };
    if rest.contains(['?', '#', '@']) || rest.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = host_of(authority);
    if host.is_empty() {
        return Err(invalid());
    }
    let admitted = secure || (allow_loopback && is_loopback_host(host));
    if !admitted {
        return Err(IamError::InvalidInput(
            "Invalid Open ID Connect Provider URL. The URL must begin with https://.".to_owned(),
        ));
    }
    Ok(IssuerUrl {
        url: url.to_owned(),
        name: rest.to_owned(),
    })
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Hosts that can only be this machine.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn strip_scheme(url: &str) -> Option<&str> {
    strip_prefix_ci(url, "https://").or_else(|| strip_prefix_ci(url, "http://"))
}

/// The record key of a provider named `host/path`: the host compares case-insensitively, the
/// path exactly.
pub fn provider_key(name: &str) -> String {
    match name.split_once('/') {
        Some((host, path)) => format!("{}/{path}", host.to_lowercase()),
        None => name.to_lowercase(),
    }
}

/// The provider an issuer URL names in `account`, if registered. What AssumeRoleWithWebIdentity
/// looks up by a token's `iss`.
pub fn find_by_issuer(
    tx: &impl Reader,
    account: AccountId,
    issuer: &str,
) -> Result<Option<OidcProviderRecord>, IamError> {
    let Some(name) = strip_scheme(issuer) else {
        return Ok(None);
    };
    let found = tx.get::<OidcProviderRecord>(&account.to_string(), &provider_key(name))?;
    // The scheme must match too: an `http://` token never stands for an `https://` provider.
    Ok(found.filter(|p| same_issuer(&p.url, issuer)))
}

/// Issuers compare with the scheme and host case-insensitive and the path exact.
fn same_issuer(a: &str, b: &str) -> bool {
    let scheme = |u: &str| strip_prefix_ci(u, "https://").is_some();
    scheme(a) == scheme(b)
        && match (strip_scheme(a), strip_scheme(b)) {
            (Some(x), Some(y)) => provider_key(x) == provider_key(y),
            _ => false,
        }
}

/// The provider an ARN names in the caller's account.
pub fn find_by_arn(
    tx: &impl Reader,
    account: AccountId,
    arn: &str,
) -> Result<Option<OidcProviderRecord>, IamError> {
    let prefix = iam_arn(account, "oidc-provider/");
    let Some(name) = strip_prefix_ci(arn, &prefix).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    Ok(tx
        .get::<OidcProviderRecord>(&account.to_string(), &provider_key(name))?
        .filter(|p| p.arn == arn || provider_key(p.name()) == provider_key(name)))
}

fn not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

fn require(tx: &impl Reader, c: &Call<'_>, arn: &str) -> Result<OidcProviderRecord, IamError> {
    find_by_arn(tx, c.account, arn)?.ok_or_else(|| not_found(arn))
}

fn save(tx: &mut impl Writer, c: &Call<'_>, p: &OidcProviderRecord) -> Result<(), IamError> {
    tx.put(&c.account_key(), &provider_key(p.name()), p)?;
    Ok(())
}

fn check_thumbprints(thumbprints: &[String]) -> Result<(), IamError> {
    if thumbprints.len() > MAX_THUMBPRINTS {
        return Err(IamError::InvalidInput(
            "Thumbprint list must contain fewer than 5 entries.".to_owned(),
        ));
    }
    for t in thumbprints {
        if t.len() != 40 {
            return Err(IamError::InvalidInput(
                "Thumbprint must be exactly 40 characters.".to_owned(),
            ));
        }
        if !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IamError::InvalidInput(format!(
                "Thumbprint {t} is not a hexadecimal string."
            )));
        }
    }
    Ok(())
}

/// Client ids in the order given, each once.
fn client_ids(given: Option<&Vec<String>>) -> Result<Vec<String>, IamError> {
    let mut out: Vec<String> = Vec::new();
    for id in given.into_iter().flatten() {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    check_client_id_quota(out.len())?;
    Ok(out)
}

fn check_client_id_quota(n: usize) -> Result<(), IamError> {
    if n > MAX_CLIENT_IDS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
        )));
    }
    Ok(())
}

pub fn create_open_id_connect_provider(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateOpenIDConnectProviderRequest,
) -> Result<CreateOpenIDConnectProviderResponse, IamError> {
    let issuer = parse_issuer(&i.url, c.allow_insecure_oidc_loopback)?;
    let account = c.account_key();
    let key = provider_key(&issuer.name);
    if tx.exists::<OidcProviderRecord>(&account, &key)? {
        return Err(IamError::EntityAlreadyExists(format!(
            "Provider with url {} already exists.",
            i.url
        )));
    }
    if tx.count(OidcProviderRecord::KIND, &account, "")? >= MAX_PROVIDERS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for OpenIdConnectProvidersPerAccount: {MAX_PROVIDERS}"
        )));
    }
    let thumbprints = i.thumbprint_list.unwrap_or_default();
    check_thumbprints(&thumbprints)?;
    let record = OidcProviderRecord {
        arn: iam_arn(c.account, &format!("oidc-provider/{}", issuer.name)),
        url: issuer.url,
        client_ids: client_ids(i.client_id_list.as_ref())?,
        thumbprints,
        create_date: c.now_ms(),
        tags: tags_from(i.tags.as_ref())?,
    };
    tx.put(&account, &key, &record)?;
    Ok(CreateOpenIDConnectProviderResponse {
        open_id_connect_provider_arn: Some(record.arn.clone()),
        tags: wire_tags_opt(&record.tags),
    })
}

pub fn get_open_id_connect_provider(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetOpenIDConnectProviderRequest,
) -> Result<GetOpenIDConnectProviderResponse, IamError> {
    let p = require(tx, c, &i.open_id_connect_provider_arn)?;
    Ok(GetOpenIDConnectProviderResponse {
        url: Some(p.name().to_owned()),
        client_id_list: Some(p.client_ids.clone()),
        thumbprint_list: Some(p.thumbprints.clone()),
        create_date: Some(timestamp(p.create_date)),
        tags: Some(wire_tags(&p.tags)),
    })
}

pub fn list_open_id_connect_providers(
    tx: &impl Reader,
    c: &Call<'_>,
) -> Result<ListOpenIDConnectProvidersResponse, IamError> {
    let all = tx.all::<OidcProviderRecord>(&c.account_key(), "")?;
    Ok(ListOpenIDConnectProvidersResponse {
        open_id_connect_provider_list: Some(
            all.into_iter()
                .map(|(_, p)| OpenIDConnectProviderListEntry { arn: Some(p.arn) })
                .collect(),
        ),
    })
}

/// Idempotent, as in IAM: deleting a provider that does not exist succeeds.
pub fn delete_open_id_connect_provider(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    if let Some(p) = find_by_arn(tx, c.account, &i.open_id_connect_provider_arn)? {
        tx.delete::<OidcProviderRecord>(&c.account_key(), &provider_key(p.name()))?;
    }
    Ok(())
}

pub fn update_open_id_connect_provider_thumbprint(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateOpenIDConnectProviderThumbprintRequest,
) -> Result<(), IamError> {
    let mut p = require(tx, c, &i.open_id_connect_provider_arn)?;
    check_thumbprints(&i.thumbprint_list)?;
    p.thumbprints = i.thumbprint_list;
    save(tx, c, &p)
}

/// Idempotent: adding a client id already registered changes nothing.
pub fn add_client_id_to_open_id_connect_provider(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AddClientIDToOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let mut p = require(tx, c, &i.open_id_connect_provider_arn)?;
    if p.client_ids.contains(&i.client_id) {
        return Ok(());
    }
    check_client_id_quota(p.client_ids.len() + 1)?;
    p.client_ids.push(i.client_id);
    save(tx, c, &p)
}

/// Idempotent: removing a client id that is not registered changes nothing.
pub fn remove_client_id_from_open_id_connect_provider(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: RemoveClientIDFromOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let mut p = require(tx, c, &i.open_id_connect_provider_arn)?;
    p.client_ids.retain(|id| id != &i.client_id);
    save(tx, c, &p)
}

pub fn tag_open_id_connect_provider(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: TagOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let mut p = require(tx, c, &i.open_id_connect_provider_arn)?;
    merge_tags(&mut p.tags, &i.tags)?;
    save(tx, c, &p)
}

pub fn untag_open_id_connect_provider(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UntagOpenIDConnectProviderRequest,
) -> Result<(), IamError> {
    let mut p = require(tx, c, &i.open_id_connect_provider_arn)?;
    remove_tags(&mut p.tags, &i.tag_keys);
    save(tx, c, &p)
}

pub fn list_open_id_connect_provider_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListOpenIDConnectProviderTagsRequest,
) -> Result<ListOpenIDConnectProviderTagsResponse, IamError> {
    let p = require(tx, c, &i.open_id_connect_provider_arn)?;
    let (tags, is_truncated, marker) =
        paginate_vec(wire_tags(&p.tags), i.marker.as_deref(), i.max_items)?;
    Ok(ListOpenIDConnectProviderTagsResponse {
        tags,
        is_truncated: Some(is_truncated),
        marker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Env;
    use serde_json::json;

    const ARN: &str = "arn:aws:iam::123456789012:oidc-provider/token.example.com/tenant";
    const PRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

    fn create(env: &Env) -> serde_json::Value {
        env.ok(
            "CreateOpenIDConnectProvider",
            json!({"Url": "https://token.example.com/tenant", "ClientIDList": ["app", "app"],
                "ThumbprintList": [PRINT], "Tags": [{"Key": "team", "Value": "core"}]}),
        )
    }

    #[test]
    fn providers_are_created_read_listed_and_deleted_idempotently() {
        let env = Env::new();
        let out = create(&env);
        assert_eq!(out["OpenIDConnectProviderArn"], ARN);
        assert_eq!(out["Tags"][0]["Key"], "team");
        let got = env.ok(
            "GetOpenIDConnectProvider",
            json!({"OpenIDConnectProviderArn": ARN}),
        );
        assert_eq!(got["Url"], "token.example.com/tenant");
        assert_eq!(got["ClientIDList"], json!(["app"]));
        assert_eq!(got["ThumbprintList"], json!([PRINT]));
        assert!(got["CreateDate"].is_string() || got["CreateDate"].is_number());
        let list = env.ok("ListOpenIDConnectProviders", json!({}));
        assert_eq!(list["OpenIDConnectProviderList"][0]["Arn"], ARN);

        let (code, message) = env.err(
            "CreateOpenIDConnectProvider",
            json!({"Url": "https://TOKEN.example.com/tenant"}),
        );
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(
            message,
            "Provider with url https://TOKEN.example.com/tenant already exists."
        );

        for _ in 0..2 {
            env.ok(
                "DeleteOpenIDConnectProvider",
                json!({"OpenIDConnectProviderArn": ARN}),
            );
        }
        let (code, message) = env.err(
            "GetOpenIDConnectProvider",
            json!({"OpenIDConnectProviderArn": ARN}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            message,
            format!("OpenIDConnect Provider not found for arn {ARN}")
        );
    }

    #[test]
    fn client_ids_thumbprints_and_tags_change_in_place() {
        let env = Env::new();
        create(&env);
        let on = |extra: serde_json::Value| {
            let mut v = json!({"OpenIDConnectProviderArn": ARN});
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                o.extend(e.clone());
            }
            v
        };
        env.ok(
            "AddClientIDToOpenIDConnectProvider",
            on(json!({"ClientID": "cli"})),
        );
        env.ok(
            "AddClientIDToOpenIDConnectProvider",
            on(json!({"ClientID": "cli"})),
        );
        env.ok(
            "RemoveClientIDFromOpenIDConnectProvider",
            on(json!({"ClientID": "app"})),
        );
        env.ok(
            "RemoveClientIDFromOpenIDConnectProvider",
            on(json!({"ClientID": "absent"})),
        );
        let other = "a".repeat(40);
        env.ok(
            "UpdateOpenIDConnectProviderThumbprint",
            on(json!({"ThumbprintList": [other]})),
        );
        env.ok(
            "TagOpenIDConnectProvider",
            on(json!({"Tags": [{"Key": "env", "Value": "ci"}]})),
        );
        env.ok(
            "UntagOpenIDConnectProvider",
            on(json!({"TagKeys": ["TEAM"]})),
        );
        let got = env.ok("GetOpenIDConnectProvider", on(json!({})));
        assert_eq!(got["ClientIDList"], json!(["cli"]));
        assert_eq!(got["ThumbprintList"], json!([other]));
        let tags = env.ok("ListOpenIDConnectProviderTags", on(json!({})));
        assert_eq!(tags["Tags"], json!([{"Key": "env", "Value": "ci"}]));
    }

    #[test]
    fn urls_limits_and_thumbprints_are_checked_as_iam_does() {
        let env = Env::new();
        for url in [
            "example.com",
            "https://",
            "https://example.com?x=1",
            "ftp://x.example",
        ] {
            let (code, message) = env.err("CreateOpenIDConnectProvider", json!({"Url": url}));
            assert_eq!(code, "InvalidInput", "{url}");
            assert_eq!(message, "Invalid Open ID Connect Provider URL.", "{url}");
        }
        for url in ["http://example.com", "http://127.0.0.1:8080"] {
            let (code, message) = env.err("CreateOpenIDConnectProvider", json!({"Url": url}));
            assert_eq!(code, "InvalidInput");
            assert_eq!(
                message,
                "Invalid Open ID Connect Provider URL. The URL must begin with https://."
            );
        }
        let six: Vec<String> = (0..6).map(|i| format!("{i}").repeat(40)).collect();
        let (code, message) = env.err(
            "CreateOpenIDConnectProvider",
            json!({"Url": "https://a.example", "ThumbprintList": six}),
        );
        assert_eq!(code, "InvalidInput");
        assert_eq!(
            message,
            "Thumbprint list must contain fewer than 5 entries."
        );
        let (code, _) = env.err(
            "CreateOpenIDConnectProvider",
            json!({"Url": "https://a.example", "ThumbprintList": ["z".repeat(40)]}),
        );
        assert_eq!(code, "InvalidInput");
        let ids: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        let (code, message) = env.err(
            "CreateOpenIDConnectProvider",
            json!({"Url": "https://a.example", "ClientIDList": ids}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(
            message,
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
        );
        // Optional thumbprints, as in current IAM.
        env.ok(
            "CreateOpenIDConnectProvider",
            json!({"Url": "https://a.example"}),
        );
    }

    #[test]
    fn loopback_http_issuers_need_the_option() {
        assert!(parse_issuer("http://127.0.0.1:8080", false).is_err());
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:9/realm",
            "http://[::1]:443",
        ] {
            let parsed = parse_issuer(url, true).unwrap();
            assert_eq!(parsed.url, url);
        }
        for url in [
            "http://10.0.0.1",
            "http://example.com",
            "http://127.0.0.1.nip.io",
        ] {
            assert!(parse_issuer(url, true).is_err(), "{url}");
        }
        assert_eq!(
            parse_issuer("https://Host.example/Path", false)
                .unwrap()
                .name,
            "Host.example/Path"
        );
    }

    #[test]
    fn issuers_find_their_provider_by_url() {
        let env = Env::new();
        create(&env);
        let account = env.root.account;
        let found = env
            .iam
            .store()
            .read(|tx| find_by_issuer(tx, account, "https://token.example.com/tenant"))
            .unwrap();
        assert_eq!(found.map(|p| p.arn), Some(ARN.to_owned()));
        for other in [
            "http://token.example.com/tenant",
            "https://token.example.com/TENANT",
            "https://token.example.com",
        ] {
            let found = env
                .iam
                .store()
                .read(|tx| find_by_issuer(tx, account, other))
                .unwrap();
            assert!(found.is_none(), "{other}");
        }
    }
}
