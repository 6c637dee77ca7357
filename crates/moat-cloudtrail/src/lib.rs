//! The CloudTrail service: `LookupEvents` over the audit trail the server records.
//!
//! Wire shapes are generated from the botocore model (`build.rs`); this crate holds what an
//! operation means. `CloudTrail::prepare` declares every served operation (action, read-only),
//! and `CloudTrail::execute` runs it against the store's audit trail for one account.

mod error;

pub use error::CloudTrailError;

include!(concat!(env!("OUT_DIR"), "/cloudtrail_types.rs"));

use std::sync::OnceLock;

use base64::Engine as _;
use moat_store::audit::{Cursor, LookupFilter, StoredEvent};
use moat_store::{LookupQuery, Store};
use moat_wire::{ServiceModel, Timestamp};
use time::OffsetDateTime;

static MODEL: OnceLock<Option<ServiceModel>> = OnceLock::new();
const MODEL_JSON: &str = include_str!("../../../models/cloudtrail/service-2.json");

/// CloudTrail's botocore model, parsed once.
pub fn model() -> &'static ServiceModel {
    #[expect(clippy::expect_used, reason = "the model is compiled in and tested")]
    // INVARIANT: MODEL_JSON is the checked-in botocore model; `model_loads` tests it parses.
    MODEL
        .get_or_init(|| ServiceModel::from_json(MODEL_JSON).ok())
        .as_ref()
        .expect("the embedded CloudTrail model parses")
}

/// How many events a page holds when the caller does not say (AWS's default and maximum).
pub const DEFAULT_MAX_RESULTS: usize = 50;

/// A decoded request with its declaration, ready to authorize and run.
pub struct Prepared {
    pub operation: &'static str,
    request: Request,
}

impl Prepared {
    /// `cloudtrail:LookupEvents`.
    pub fn action(&self) -> String {
        format!("cloudtrail:{}", self.operation)
    }

    pub fn read_only(&self) -> bool {
        match self.request {
            Request::LookupEvents(_) => true,
        }
    }

    /// The resource the action applies to: lookups are account-wide.
    pub fn resource_arn(&self) -> String {
        match self.request {
            Request::LookupEvents(_) => "*".to_owned(),
        }
    }

    /// Whether the operation reads the audit trail (so events still queued for it should be
    /// committed first).
    pub fn reads_audit_trail(&self) -> bool {
        match self.request {
            Request::LookupEvents(_) => true,
        }
    }
}

/// The CloudTrail service over a store.
#[derive(Clone)]
pub struct CloudTrail {
    store: Store,
}

impl CloudTrail {
    pub fn new(store: Store) -> Self {
        CloudTrail { store }
    }

    /// Declares an operation.
    pub fn prepare(request: Request) -> Prepared {
        Prepared {
            operation: request.operation_name(),
            request,
        }
    }

    /// Runs a prepared operation for `account` (whose trail is the only one it sees).
    pub fn execute(&self, prepared: Prepared, account: &str) -> Result<Response, CloudTrailError> {
        match prepared.request {
            Request::LookupEvents(input) => {
                lookup_events(&self.store, account, input).map(Response::LookupEvents)
            }
        }
    }
}

/// `LookupEvents`: one account's events, newest first, with at most one lookup attribute, a
/// time range and paging.
pub fn lookup_events(
    store: &Store,
    account: &str,
    input: LookupEventsRequest,
) -> Result<LookupEventsResponse, CloudTrailError> {
    if input.event_category.is_some() {
        // Only Insights events have a category, and Moat records none.
        return Ok(LookupEventsResponse::default());
    }
    let filter = match input.lookup_attributes.as_deref() {
        None | Some([]) => None,
        Some([attribute]) => Some(filter(attribute)?),
        Some(_) => {
            return Err(CloudTrailError::InvalidLookupAttributes(
                "You cannot specify more than one lookup attribute.".to_owned(),
            ))
        }
    };
    let start_ms = input.start_time.map(|t| millis(t.0));
    let end_ms = input.end_time.map(|t| millis(t.0));
    if let (Some(s), Some(e)) = (start_ms, end_ms) {
        if s > e {
            return Err(CloudTrailError::InvalidTimeRange);
        }
    }
    let after = input.next_token.as_deref().map(parse_token).transpose()?;
    let limit = match input.max_results {
        None => DEFAULT_MAX_RESULTS,
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=DEFAULT_MAX_RESULTS).contains(n))
            .ok_or(CloudTrailError::InvalidMaxResults)?,
    };
    let page = store.lookup_audit(&LookupQuery {
        account: account.to_owned(),
        start_ms,
        end_ms,
        filter,
        after,
        limit,
    })?;
    Ok(LookupEventsResponse {
        events: Some(page.events.into_iter().map(event).collect()),
        next_token: page.next.map(token),
    })
}

fn filter(attribute: &LookupAttribute) -> Result<LookupFilter, CloudTrailError> {
    let v = attribute.attribute_value.clone();
    Ok(match attribute.attribute_key.as_str() {
        "EventId" => LookupFilter::EventId(v),
        "EventName" => LookupFilter::EventName(v),
        "ReadOnly" => match v.to_ascii_lowercase().as_str() {
            "true" => LookupFilter::ReadOnly(true),
            "false" => LookupFilter::ReadOnly(false),
            _ => {
                return Err(CloudTrailError::InvalidLookupAttributes(format!(
                    "The value `{v}` of the ReadOnly lookup attribute must be true or false."
                )))
            }
        },
        "Username" => LookupFilter::Username(v),
        "ResourceType" => LookupFilter::ResourceType(v),
        "ResourceName" => LookupFilter::ResourceName(v),
        "EventSource" => LookupFilter::EventSource(v),
        "AccessKeyId" => LookupFilter::AccessKeyId(v),
        other => {
            return Err(CloudTrailError::InvalidLookupAttributes(format!(
                "`{other}` is not a lookup attribute."
            )))
        }
    })
}

fn event(stored: StoredEvent) -> Event {
    let e = stored.event;
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.event_time_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    Event {
        access_key_id: non_empty(e.access_key_id),
        cloud_trail_event: Some(e.cloudtrail_event),
        event_id: Some(e.event_id),
        event_name: Some(e.event_name),
        event_source: Some(e.event_source),
        event_time: Some(Timestamp(time)),
        read_only: Some(e.read_only.to_string()),
        resources: Some(
            e.resources
                .into_iter()
                .map(|r| Resource {
                    resource_name: Some(r.resource_name),
                    resource_type: Some(r.resource_type),
                })
                .collect(),
        ),
        username: non_empty(e.username),
    }
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

const TOKEN_PREFIX: &str = "moat-v1:";

/// The opaque NextToken: where the previous page ended.
fn token(c: Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{TOKEN_PREFIX}{}:{}", c.event_time_ms, c.seq))
}

fn parse_token(token: &str) -> Result<Cursor, CloudTrailError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.as_bytes())
        .map_err(|_| CloudTrailError::InvalidNextToken)?;
    let text = String::from_utf8(bytes).map_err(|_| CloudTrailError::InvalidNextToken)?;
    let rest = text
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(CloudTrailError::InvalidNextToken)?;
    let (time, seq) = rest
        .split_once(':')
        .ok_or(CloudTrailError::InvalidNextToken)?;
    Ok(Cursor {
        event_time_ms: time
            .parse()
            .map_err(|_| CloudTrailError::InvalidNextToken)?,
        seq: seq.parse().map_err(|_| CloudTrailError::InvalidNextToken)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_store::{AuditEvent, AuditResource, RootKey};

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn model_loads() {
        let m = model();
        for op in OPERATION_NAMES {
            assert!(m.operation(op).is_some(), "{op} missing from the model");
        }
        assert_eq!(m.protocol, moat_wire::Protocol::Json);
        assert_eq!(
            m.target_prefix.as_deref(),
            Some("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101")
        );
    }

    #[test]
    fn every_operation_is_declared() {
        for op in OPERATION_NAMES {
            let req = Request::from_value(op, serde_json::json!({}))
                .unwrap()
                .unwrap();
            let p = CloudTrail::prepare(req);
            assert_eq!(p.operation, *op);
            assert_eq!(p.action(), format!("cloudtrail:{op}"));
            assert!(p.read_only(), "{op}");
        }
    }

    fn store_with(n: i64) -> Store {
        let store = Store::open_in_memory(RootKey::from_bytes(&[1u8; 32]).unwrap()).unwrap();
        let events: Vec<AuditEvent> = (1..=n)
            .map(|i| AuditEvent {
                event_id: format!("e{i}"),
                event_time_ms: 1_764_417_600_000 + i * 1000,
                account: ACCOUNT.to_owned(),
                event_source: "iam.amazonaws.com".to_owned(),
                event_name: "CreateUser".to_owned(),
                read_only: false,
                username: "root".to_owned(),
                access_key_id: "AKIAROOT".to_owned(),
                resources: vec![AuditResource {
                    resource_type: "AWS::IAM::User".to_owned(),
                    resource_name: format!("u{i}"),
                }],
                cloudtrail_event: "{}".to_owned(),
            })
            .collect();
        store.append_audit(&events).unwrap();
        store
    }

    fn lookup(
        store: &Store,
        input: serde_json::Value,
    ) -> Result<LookupEventsResponse, CloudTrailError> {
        let Request::LookupEvents(i) = Request::from_value("LookupEvents", input).unwrap().unwrap();
        lookup_events(store, ACCOUNT, i)
    }

    #[test]
    fn pages_of_fifty_newest_first() {
        let store = store_with(120);
        let mut token = None;
        let mut ids = Vec::new();
        loop {
            let mut input = serde_json::json!({});
            if let Some(t) = &token {
                input["NextToken"] = serde_json::json!(t);
            }
            let page = lookup(&store, input).unwrap();
            let events = page.events.unwrap();
            assert!(events.len() <= 50);
            ids.extend(events.into_iter().map(|e| e.event_id.unwrap()));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(ids.len(), 120);
        assert_eq!(ids.first().map(String::as_str), Some("e120"));
        assert_eq!(ids.last().map(String::as_str), Some("e1"));
        // Another account sees nothing.
        let Request::LookupEvents(i) = Request::from_value("LookupEvents", serde_json::json!({}))
            .unwrap()
            .unwrap();
        let other = lookup_events(&store, "999999999999", i).unwrap();
        assert_eq!(other.events.unwrap().len(), 0);
    }

    #[test]
    fn attributes_and_time_range() {
        let store = store_with(10);
        let page = lookup(
            &store,
            serde_json::json!({"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "u3"}]}),
        )
        .unwrap();
        let events = page.events.unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.event_id.as_deref(), Some("e3"));
        assert_eq!(e.read_only.as_deref(), Some("false"));
        assert_eq!(e.username.as_deref(), Some("root"));
        assert_eq!(
            e.resources.as_ref().unwrap()[0].resource_type.as_deref(),
            Some("AWS::IAM::User")
        );
        // Start and end are inclusive, in milliseconds (the wire decoder gives milliseconds).
        let page = lookup(
            &store,
            serde_json::json!({"StartTime": 1_764_417_602_000_i64, "EndTime": 1_764_417_604_000_i64, "MaxResults": 2}),
        )
        .unwrap();
        let ids: Vec<String> = page
            .events
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event_id)
            .collect();
        assert_eq!(ids, ["e4", "e3"]);
        assert!(page.next_token.is_some());
    }

    #[test]
    fn bad_inputs_get_cloudtrail_errors() {
        let store = store_with(1);
        let two = serde_json::json!({"LookupAttributes": [
            {"AttributeKey": "EventName", "AttributeValue": "a"},
            {"AttributeKey": "EventName", "AttributeValue": "b"}]});
        assert!(matches!(
            lookup(&store, two),
            Err(CloudTrailError::InvalidLookupAttributes(_))
        ));
        let bad_ro = serde_json::json!({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "maybe"}]});
        assert!(matches!(
            lookup(&store, bad_ro),
            Err(CloudTrailError::InvalidLookupAttributes(_))
        ));
        let backwards = serde_json::json!({"StartTime": 2000, "EndTime": 1000});
        assert!(matches!(
            lookup(&store, backwards),
            Err(CloudTrailError::InvalidTimeRange)
        ));
        for t in ["nope", "bW9hdC12MTp4", ""] {
            assert!(
                matches!(
                    lookup(&store, serde_json::json!({"NextToken": t})),
                    Err(CloudTrailError::InvalidNextToken)
                ),
                "{t}"
            );
        }
        let insights = lookup(&store, serde_json::json!({"EventCategory": "insight"})).unwrap();
        assert!(insights.events.is_none_or(|e| e.is_empty()));
    }

    #[test]
    fn tokens_round_trip() {
        let c = Cursor {
            event_time_ms: 1_764_417_600_123,
            seq: 42,
        };
        assert_eq!(parse_token(&token(c)).unwrap(), c);
    }
}
