//! The audit side of the pipeline: one CloudTrail-shaped event per call, and the queue that
//! group-commits the events of calls that change nothing.
//!
//! A mutating call's event is appended inside the call's own write transaction (see
//! `pipeline::run` and `Store::write_scope`), so it commits with the change or not at all.
//! Every other event (reads, denials, failures) goes through [`AuditQueue`]: a bounded
//! channel drained by one task that commits each batch in a single transaction. A request
//! waits for room in the queue before it is answered, so no event is dropped silently; if the
//! queue stays full (the disk is failing) the request is refused instead.

use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use moat_store::{AuditEvent, AuditResource, Store};
use moat_types::{Clock, Principal, PrincipalKind};
use moat_wire::model::ShapeKind;
use moat_wire::{ErrorResponse, ServiceModel};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

/// What CloudTrail writes in place of a secret.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Request parameters or response elements larger than this are left out of the event, as
/// CloudTrail does.
const MAX_ELEMENTS_BYTES: usize = 100 * 1024;
const MAX_USER_AGENT_BYTES: usize = 1024;
/// Room for a typical record, so writing it allocates once.
const RECORD_CAPACITY: usize = 1024;

/// Everything known about a call so far, filled in as the pipeline progresses.
#[derive(Clone)]
pub(crate) struct AuditDraft {
    pub request_id: String,
    pub event_time: OffsetDateTime,
    pub source_ip: IpAddr,
    pub user_agent: String,
    pub region: String,
    /// The service's signing name (`iam`), once routed.
    pub service: Option<&'static str>,
    pub model: Option<&'static ServiceModel>,
    /// Who signed the call, once the access key is found. Calls whose key is unknown are not
    /// attributable to any account and are only logged.
    pub principal: Option<Principal>,
    pub operation: Option<String>,
    /// The decoded input, model member names, before redaction.
    pub input: Option<Value>,
    /// The operation's declaration, once prepared.
    pub read_only: Option<bool>,
    /// Set once the event was appended in the call's own transaction.
    pub recorded: bool,
    /// The output of a call that changes nothing but whose answer CloudTrail records
    /// (AssumeRole's new session, for one).
    pub output: Option<Value>,
}

/// How a call ended, for its event.
pub(crate) enum Outcome<'a> {
    Success(Option<&'a Value>),
    Failure(&'a ErrorResponse),
}

/// Writes a CloudTrail record's JSON: fields in CloudTrail's order, keys written as they are
/// (they are literals), strings escaped as serde_json does, only when they need it.
struct RecordWriter {
    out: Vec<u8>,
    /// Whether the object being written has a member already (a comma goes first).
    more: bool,
}

impl RecordWriter {
    fn new() -> RecordWriter {
        let mut out = Vec::with_capacity(RECORD_CAPACITY);
        out.push(b'{');
        RecordWriter { out, more: false }
    }

    fn key(&mut self, key: &'static str) {
        if self.more {
            self.out.push(b',');
        }
        self.more = true;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        let plain = value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        if plain {
            self.out.push(b'"');
            self.out.extend_from_slice(value.as_bytes());
            self.out.push(b'"');
        } else {
            self.json(value);
        }
    }

    fn raw(&mut self, key: &'static str, value: &str) {
        self.key(key);
        self.out.extend_from_slice(value.as_bytes());
    }

    fn value(&mut self, key: &'static str, value: Option<&Value>) {
        self.key(key);
        match value {
            Some(v) => self.json(v),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn json<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Serializing strings and JSON values into a Vec cannot fail.
        if serde_json::to_writer(&mut self.out, value).is_err() {
            self.out.extend_from_slice(b"null");
        }
    }

    fn open(&mut self, key: &'static str) {
        self.key(key);
        self.out.push(b'{');
        self.more = false;
    }

    fn close(&mut self) {
        self.out.push(b'}');
        self.more = true;
    }

    fn finish(mut self) -> String {
        self.out.push(b'}');
        // Only UTF-8 was written.
        String::from_utf8(self.out).unwrap_or_default()
    }
}

impl AuditDraft {
    pub(crate) fn new(
        request_id: &str,
        event_time: OffsetDateTime,
        source_ip: IpAddr,
        user_agent: &str,
        region: &str,
    ) -> AuditDraft {
        AuditDraft {
            request_id: request_id.to_owned(),
            event_time,
            source_ip,
            user_agent: truncate(user_agent, MAX_USER_AGENT_BYTES).to_owned(),
            region: region.to_owned(),
            service: None,
            model: None,
            principal: None,
            operation: None,
            input: None,
            read_only: None,
            recorded: false,
            output: None,
        }
    }

    /// The event for this call, or `None` when it cannot be attributed to an account.
    pub(crate) fn event(&self, outcome: Outcome<'_>) -> Option<AuditEvent> {
        let principal = self.principal.as_ref()?;
        let service = self.service.unwrap_or("unknown");
        let event_source = format!("{service}.amazonaws.com");
        let event_name = self
            .operation
            .as_deref()
            .map(sanitize_name)
            .unwrap_or("Unknown");
        let read_only = self
            .read_only
            .unwrap_or_else(|| looks_read_only(event_name));
        let declared = self
            .model
            .zip(self.operation.as_deref())
            .and_then(|(m, op)| m.operation(op));
        let input_shape = declared.and_then(|o| o.input.as_deref());
        let output_shape = declared.and_then(|o| o.output.as_deref());

        let mut hidden = Vec::new();
        let mut truncated = Map::new();
        let request_parameters = self.input.as_ref().and_then(|input| {
            let view = safe_view(self.model, input_shape, input, &mut hidden);
            bounded(view, "requestParameters", &mut truncated)
        });
        let response_elements = match outcome {
            // Reads record no output, except the few whose answer CloudTrail keeps.
            Outcome::Success(Some(output)) if !read_only || self.output.is_some() => {
                let view = safe_view(self.model, output_shape, output, &mut hidden);
                bounded(view, "responseElements", &mut truncated)
            }
            _ => None,
        };
        let (error_code, error_message) = match outcome {
            Outcome::Failure(e) => {
                let leaks = hidden
                    .iter()
                    .any(|s| !s.is_empty() && e.message.contains(s));
                let message = if leaks { HIDDEN } else { e.message.as_str() };
                (Some(e.code.as_str()), Some(message))
            }
            Outcome::Success(_) => (None, None),
        };

        let account = principal.account.to_string();
        let user_name = match &principal.kind {
            PrincipalKind::Root | PrincipalKind::AssumedRole { .. } => None,
            PrincipalKind::User { name, .. } => Some(name.as_str()),
            // CloudTrail names a web identity caller by the token's subject.
            PrincipalKind::WebIdentity { subject, .. } => {
                Some(subject.as_str()).filter(|s| !s.is_empty())
            }
        };
        // LookupEvents' `Username` of a role session is its session name, as in CloudTrail.
        let lookup_name = match &principal.kind {
            PrincipalKind::AssumedRole { session_name, .. } => Some(session_name.as_str()),
            PrincipalKind::WebIdentity { .. } => Some(user_name.unwrap_or("anonymous")),
            _ => user_name,
        };
        let event_id = crate::pipeline::new_request_id();
        let mut w = RecordWriter::new();
        w.str("eventVersion", "1.08");
        w.open("userIdentity");
        w.str("type", principal.type_name());
        w.str("principalId", &principal.id);
        // A web identity caller has no ARN and no access key, only its provider.
        if !principal.arn.is_empty() {
            w.str("arn", &principal.arn);
        }
        w.str("accountId", &account);
        if !principal.access_key_id.is_empty() {
            w.str("accessKeyId", &principal.access_key_id);
        }
        if let Some(name) = user_name {
            w.str("userName", name);
        }
        if let Some(session) = &principal.session {
            // Temporary credentials: who issued the session, when, and whether with MFA.
            w.open("sessionContext");
            if let PrincipalKind::AssumedRole {
                role_name, role_id, ..
            } = &principal.kind
            {
                w.open("sessionIssuer");
                w.str("type", "Role");
                w.str("principalId", role_id);
                w.str("arn", &principal.role_arn().unwrap_or_default());
                w.str("accountId", &account);
                w.str("userName", role_name);
                w.close();
            }
            w.open("attributes");
            w.str(
                "creationDate",
                &moat_wire::timestamp::format_iso8601(session.issued_at),
            );
            w.str(
                "mfaAuthenticated",
                if session.mfa_authenticated_at.is_some() {
                    "true"
                } else {
                    "false"
                },
            );
            w.close();
            if let Some(source) = &session.source_identity {
                w.str("sourceIdentity", source);
            }
            w.close();
        }
        if let PrincipalKind::WebIdentity { issuer, .. } = &principal.kind {
            if !issuer.is_empty() {
                w.str("identityProvider", issuer);
            }
        }
        w.close();
        w.str(
            "eventTime",
            &moat_wire::timestamp::format_iso8601(self.event_time),
        );
        w.str("eventSource", &event_source);
        w.str("eventName", event_name);
        w.str("awsRegion", &self.region);
        w.key("sourceIPAddress");
        // An address's text needs no escaping.
        let _ = write!(w.out, "\"{}\"", self.source_ip);
        w.str("userAgent", &self.user_agent);
        w.value("requestParameters", request_parameters.as_ref());
        w.value("responseElements", response_elements.as_ref());
        if let Some(code) = error_code {
            w.str("errorCode", code);
        }
        if let Some(message) = error_message {
            w.str("errorMessage", message);
        }
        if !truncated.is_empty() {
            w.value("additionalEventData", Some(&Value::Object(truncated)));
        }
        w.str("requestID", &self.request_id);
        w.str("eventID", &event_id);
        w.raw("readOnly", if read_only { "true" } else { "false" });
        w.str("eventType", "AwsApiCall");
        w.raw("managementEvent", "true");
        w.str("recipientAccountId", &account);
        w.str("eventCategory", "Management");
        let cloudtrail_event = w.finish();
        let mut resources = resources(service, self.input.as_ref(), outcome);
        resources.sort();
        resources.dedup();
        Some(AuditEvent {
            event_id,
            event_time_ms: i64::try_from(self.event_time.unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(0),
            account,
            event_source,
            event_name: event_name.to_owned(),
            read_only,
            username: lookup_name.unwrap_or("root").to_owned(),
            access_key_id: principal.access_key_id.clone(),
            resources,
            cloudtrail_event,
        })
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Operation names come from the request when the call failed before routing; keep only what
/// could be an operation name.
fn sanitize_name(name: &str) -> &str {
    if !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        name
    } else {
        "Unknown"
    }
}

/// For calls that failed before their declaration was read, AWS's naming convention.
fn looks_read_only(operation: &str) -> bool {
    ["Get", "List", "Describe", "Lookup", "Simulate"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// Request parameters or response elements as CloudTrail shows them: the model's sensitive
/// members and anything secret by name hidden, member names in lower camel case, timestamps
/// in ISO 8601. The secret strings removed are collected in `hidden`.
fn safe_view(
    model: Option<&ServiceModel>,
    shape: Option<&str>,
    value: &Value,
    hidden: &mut Vec<String>,
) -> Value {
    let mut redacted = value.clone();
    if let (Some(model), Some(shape)) = (model, shape) {
        moat_wire::redact(model, shape, &mut redacted);
    }
    scrub_by_name(&mut redacted);
    collect_hidden(value, &redacted, hidden);
    match (model, shape) {
        (Some(model), Some(shape)) => camel_view(model, shape, redacted),
        _ => redacted,
    }
}

/// Member names that hold secrets whatever the model says (passwords, secret keys, session
/// tokens, key material, MFA seeds and codes).
fn is_secret_name(name: &str) -> bool {
    [
        "password",
        "secret",
        "privatekey",
        "sessiontoken",
        "seed",
        "qrcodepng",
        "authenticationcode",
        "tokencode",
        "plaintext",
    ]
    .iter()
    .any(|s| contains_ignore_ascii_case(name, s))
}

/// Whether `hay` contains `needle` (lower case ASCII), ignoring ASCII case, without allocating.
fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn scrub_by_name(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_name(k) && !v.is_null() {
                    *v = Value::String(HIDDEN.to_owned());
                } else {
                    scrub_by_name(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_by_name),
        _ => {}
    }
}

/// The strings of `original` that `redacted` hides, to keep them out of error messages.
fn collect_hidden(original: &Value, redacted: &Value, out: &mut Vec<String>) {
    match (original, redacted) {
        (Value::Object(o), Value::Object(r)) => {
            for (k, v) in o {
                if let Some(rv) = r.get(k) {
                    collect_hidden(v, rv, out);
                }
            }
        }
        (Value::Array(o), Value::Array(r)) => {
            for (v, rv) in o.iter().zip(r) {
                collect_hidden(v, rv, out);
            }
        }
        (Value::String(s), Value::String(r)) if r == HIDDEN && s != HIDDEN => {
            out.push(s.clone());
        }
        _ => {}
    }
}

fn lower_camel(name: &str) -> String {
    moat_wire::validate::wire_path_segment(name)
}

/// The value with the model's member names in lower camel case and timestamps in ISO 8601;
/// members the model does not know are dropped. Takes the value to move what it keeps.
fn camel_view(model: &ServiceModel, shape_name: &str, value: Value) -> Value {
    let Some(shape) = model.shape(shape_name) else {
        return value;
    };
    match (&shape.kind, value) {
        (ShapeKind::Structure { members, .. }, Value::Object(mut map)) => {
            let mut out = Map::new();
            for m in members {
                if let Some(v) = map.remove(&m.name) {
                    out.insert(lower_camel(&m.name), camel_view(model, &m.shape, v));
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|v| camel_view(model, &member.shape, v))
                .collect(),
        ),
        (ShapeKind::Map { value: vm, .. }, Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, camel_view(model, &vm.shape, v)))
                .collect(),
        ),
        (ShapeKind::Timestamp, v) => match moat_wire::timestamp::from_value(&v) {
            Some(t) => Value::String(moat_wire::timestamp::format_iso8601(t)),
            None => v,
        },
        (_, v) => v,
    }
}

/// `value` unless its JSON is larger than CloudTrail keeps; then `None`, noted in `truncated`.
fn bounded(value: Value, field: &str, truncated: &mut Map<String, Value>) -> Option<Value> {
    if json_len(&value) > MAX_ELEMENTS_BYTES {
        truncated.insert(format!("{field}Omitted"), Value::Bool(true));
        return None;
    }
    Some(value)
}

/// The length of a value's compact JSON, counted without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; if it did, count the value as too large.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Resources named by a call's input (and the key a CreateAccessKey made), as LookupEvents
/// reports them.
fn resources(service: &str, input: Option<&Value>, outcome: Outcome<'_>) -> Vec<AuditResource> {
    const KMS_BY_MEMBER: &[(&str, &str)] = &[
        ("KeyId", "AWS::KMS::Key"),
        ("TargetKeyId", "AWS::KMS::Key"),
        ("SourceKeyId", "AWS::KMS::Key"),
        ("DestinationKeyId", "AWS::KMS::Key"),
        ("AliasName", "AWS::KMS::Alias"),
    ];
    const IAM_BY_MEMBER: &[(&str, &str)] = &[
        ("UserName", "AWS::IAM::User"),
        ("GroupName", "AWS::IAM::Group"),
        ("RoleName", "AWS::IAM::Role"),
        ("PolicyArn", "AWS::IAM::Policy"),
        ("PolicyName", "AWS::IAM::Policy"),
        ("AccessKeyId", "AWS::IAM::AccessKey"),
        ("InstanceProfileName", "AWS::IAM::InstanceProfile"),
        ("PermissionsBoundary", "AWS::IAM::Policy"),
    ];
    let by_member = if service == "kms" {
        KMS_BY_MEMBER
    } else {
        IAM_BY_MEMBER
    };
    let mut out = Vec::new();
    let mut add = |map: &Map<String, Value>| {
        for (member, kind) in by_member {
            if let Some(Value::String(name)) = map.get(*member) {
                out.push(AuditResource {
                    resource_type: (*kind).to_owned(),
                    resource_name: name.clone(),
                });
            }
        }
    };
    if let Some(Value::Object(map)) = input {
        add(map);
    }
    if let Outcome::Success(Some(Value::Object(output))) = outcome {
        if let Some(Value::Object(key)) = output.get("AccessKey") {
            add(key);
        }
        // The key a call acted on, by its ARN, whichever way the request named it.
        if let Some(Value::Object(key)) = output.get("KeyMetadata") {
            add(key);
        } else if service == "kms" {
            add(output);
        }
    }
    out
}

/// Why an event could not be queued: the request is refused rather than left unaudited.
#[derive(Debug, thiserror::Error)]
pub enum AuditUnavailable {
    #[error("the audit queue stayed full for {0:?}")]
    Full(Duration),
    #[error("the audit writer has stopped")]
    Stopped,
}

/// Tuning of the queue; the server uses [`AuditQueueConfig::default`].
#[derive(Debug, Clone)]
pub struct AuditQueueConfig {
    /// Events waiting to be committed before requests start to wait.
    pub capacity: usize,
    /// Most events committed in one transaction.
    pub max_batch: usize,
    /// How long the writer keeps gathering a batch after its first event (unless a flush is
    /// waiting): fewer, larger commits. Requests never wait for it.
    pub linger: Duration,
    /// How long a request waits for room before it is refused.
    pub enqueue_timeout: Duration,
    /// How often a signed digest of the trail's head is written (when it moved).
    pub checkpoint_interval: Duration,
}

impl Default for AuditQueueConfig {
    fn default() -> Self {
        AuditQueueConfig {
            capacity: 16 * 1024,
            max_batch: 4096,
            linger: Duration::from_millis(20),
            enqueue_timeout: Duration::from_secs(10),
            checkpoint_interval: Duration::from_secs(60),
        }
    }
}

enum Message {
    Event(Box<AuditEvent>),
    /// Answered once every event queued before it is committed.
    Flush(oneshot::Sender<()>),
    /// Commit what is queued, write a digest, stop.
    Shutdown(oneshot::Sender<()>),
}

/// The bounded queue of events recorded outside a write transaction, and its writer task.
pub struct AuditQueue {
    tx: mpsc::Sender<Message>,
    enqueue_timeout: Duration,
    /// Wakes a lingering writer when someone waits for its batch (a flush, the shutdown);
    /// events alone do not wake it, so a busy server pays no wake-up per event.
    awaited: Arc<tokio::sync::Notify>,
}

impl AuditQueue {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        config: AuditQueueConfig,
    ) -> Result<AuditQueue, crate::ServerError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| crate::ServerError::NoRuntime)?;
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let awaited = Arc::new(tokio::sync::Notify::new());
        runtime.spawn(writer(store, clock, rx, awaited.clone(), config.clone()));
        Ok(AuditQueue {
            tx,
            enqueue_timeout: config.enqueue_timeout,
            awaited,
        })
    }

    /// Queues an event, waiting for room if the queue is full.
    pub async fn record(&self, event: AuditEvent) -> Result<(), AuditUnavailable> {
        self.tx
            .send_timeout(Message::Event(Box::new(event)), self.enqueue_timeout)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => {
                    AuditUnavailable::Full(self.enqueue_timeout)
                }
                mpsc::error::SendTimeoutError::Closed(_) => AuditUnavailable::Stopped,
            })
    }

    /// Waits until every event queued before this call is committed.
    pub async fn flush(&self) -> Result<(), AuditUnavailable> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send_timeout(Message::Flush(done), self.enqueue_timeout)
            .await
            .map_err(|_| AuditUnavailable::Stopped)?;
        self.awaited.notify_one();
        match tokio::time::timeout(self.enqueue_timeout, wait).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(AuditUnavailable::Stopped),
            Err(_) => Err(AuditUnavailable::Full(self.enqueue_timeout)),
        }
    }

    /// Commits everything queued, writes a final digest and stops the writer.
    pub async fn shutdown(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Shutdown(done)).await.is_ok() {
            self.awaited.notify_one();
            let _ = wait.await;
        }
    }
}

/// What one pass of the writer gathered.
#[derive(Default)]
struct Batch {
    events: Vec<AuditEvent>,
    flushes: Vec<oneshot::Sender<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    messages: usize,
}

impl Batch {
    fn take(&mut self, m: Message) {
        self.messages += 1;
        match m {
            Message::Event(e) => self.events.push(*e),
            Message::Flush(f) => self.flushes.push(f),
            Message::Shutdown(s) => self.shutdown = Some(s),
        }
    }

    /// Someone waits for this batch to commit.
    fn awaited(&self) -> bool {
        !self.flushes.is_empty() || self.shutdown.is_some()
    }
}

async fn writer(
    store: Store,
    clock: Arc<dyn Clock>,
    mut rx: mpsc::Receiver<Message>,
    awaited: Arc<tokio::sync::Notify>,
    config: AuditQueueConfig,
) {
    let mut ticker = tokio::time::interval(config.checkpoint_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    // The batch's vector is reused: growing a fresh one for every batch of a busy server
    // costs the allocator fresh pages, zeroed by the kernel, each time.
    let mut spare: Vec<AuditEvent> = Vec::new();
    loop {
        tokio::select! {
            first = rx.recv() => {
                let Some(first) = first else { break };
                let mut batch = Batch {
                    events: std::mem::take(&mut spare),
                    ..Batch::default()
                };
                batch.take(first);
                let deadline = tokio::time::Instant::now() + config.linger;
                // Gather until the linger ends, the batch is full, or someone waits for it.
                // The writer sleeps through the linger rather than waking for each event.
                let mut lingering = true;
                loop {
                    let mut disconnected = false;
                    while batch.messages < config.max_batch {
                        match rx.try_recv() {
                            Ok(m) => batch.take(m),
                            Err(mpsc::error::TryRecvError::Empty) => break,
                            Err(mpsc::error::TryRecvError::Disconnected) => {
                                disconnected = true;
                                break;
                            }
                        }
                    }
                    if !lingering
                        || disconnected
                        || batch.awaited()
                        || batch.messages >= config.max_batch
                    {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => lingering = false,
                        () = awaited.notified() => {}
                    }
                }
                spare = commit(&store, batch.events, batch.shutdown.is_some()).await;
                for f in batch.flushes {
                    let _ = f.send(());
                }
                if let Some(s) = batch.shutdown {
                    checkpoint(&store, clock.as_ref()).await;
                    // Refuse new events before saying the queue has stopped, so no caller
                    // can queue one that would never be written.
                    rx.close();
                    // Events queued after the shutdown request are still written.
                    let mut late = Batch::default();
                    while let Ok(m) = rx.try_recv() {
                        late.take(m);
                    }
                    if !late.events.is_empty() {
                        commit(&store, late.events, true).await;
                    }
                    for f in late.flushes {
                        let _ = f.send(());
                    }
                    let _ = s.send(());
                    break;
                }
            }
            _ = ticker.tick() => checkpoint(&store, clock.as_ref()).await,
        }
    }
    // Senders gone (the server state was dropped) or asked to stop: nothing more will come.
    rx.close();
}

/// Commits one batch, retrying while the store fails: requests wait on the full queue in the
/// meantime rather than go unaudited. Gives up only when the server is stopping. Returns the
/// batch's vector, emptied, for the next batch.
async fn commit(store: &Store, mut events: Vec<AuditEvent>, stopping: bool) -> Vec<AuditEvent> {
    if events.is_empty() {
        return events;
    }
    let mut delay = Duration::from_millis(50);
    let mut attempts = 0u32;
    loop {
        let s = store.clone();
        let joined =
            tokio::task::spawn_blocking(move || (s.append_audit(&events).map(|_| ()), events))
                .await;
        let (result, back) = match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "audit writer task failed; events lost");
                return Vec::new();
            }
        };
        events = back;
        match result {
            Ok(()) => {
                events.clear();
                return events;
            }
            Err(e) => {
                attempts += 1;
                tracing::error!(error = %e, events = events.len(), attempts, "cannot record audit events; retrying");
                if stopping && attempts >= 5 {
                    tracing::error!(
                        events = events.len(),
                        "giving up on audit events at shutdown"
                    );
                    return Vec::new();
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn checkpoint(store: &Store, clock: &dyn Clock) {
    let now_ms = i64::try_from(clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let s = store.clone();
    match tokio::task::spawn_blocking(move || s.audit_checkpoint(now_ms)).await {
        Ok(Ok(Some(seq))) => tracing::debug!(events = seq, "signed an audit digest"),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot write an audit digest"),
        Err(e) => tracing::error!(error = %e, "audit digest task failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_types::AccountId;

    fn principal() -> Principal {
        let account: AccountId = "123456789012".parse().unwrap();
        Principal {
            account,
            kind: PrincipalKind::User {
                name: "bob".into(),
                path: "/".into(),
            },
            arn: "arn:aws:iam::123456789012:user/bob".into(),
            id: "AIDAEXAMPLE".into(),
            access_key_id: "AKIABOB".into(),
            session: None,
        }
    }

    fn draft(op: &str, input: Value) -> AuditDraft {
        let mut d = AuditDraft::new(
            "req-1",
            time::macros::datetime!(2026-11-29 12:00 UTC),
            "10.1.2.3".parse().unwrap(),
            "aws-cli/2",
            "us-east-1",
        );
        d.service = Some("iam");
        d.model = Some(moat_iam::model());
        d.principal = Some(principal());
        d.operation = Some(op.to_owned());
        d.input = Some(input);
        d
    }

    fn record(e: &AuditEvent) -> Value {
        serde_json::from_str(&e.cloudtrail_event).unwrap()
    }

    #[test]
    fn a_kms_call_names_its_key_and_hides_plaintext() {
        let mut d = draft(
            "Encrypt",
            serde_json::json!({"KeyId": "alias/app", "Plaintext": "c2VjcmV0LWRhdGE=",
                "EncryptionContext": {"purpose": "test"}}),
        );
        d.service = Some("kms");
        d.model = Some(moat_kms::model());
        d.read_only = Some(true);
        let e = d.event(Outcome::Success(None)).unwrap();
        assert!(
            !e.cloudtrail_event.contains("c2VjcmV0LWRhdGE="),
            "{}",
            e.cloudtrail_event
        );
        let r = record(&e);
        assert_eq!(r["eventSource"], "kms.amazonaws.com");
        assert_eq!(r["requestParameters"]["plaintext"], HIDDEN);
        assert_eq!(
            e.resources,
            vec![AuditResource {
                resource_type: "AWS::KMS::Key".into(),
                resource_name: "alias/app".into()
            }]
        );
    }

    #[test]
    fn a_write_records_redacted_input_and_output() {
        let mut d = draft("CreateAccessKey", serde_json::json!({"UserName": "alice"}));
        d.read_only = Some(false);
        let output = serde_json::json!({"AccessKey": {
            "UserName": "alice", "AccessKeyId": "AKIANEW", "Status": "Active",
            "SecretAccessKey": "very/secret/value", "CreateDate": 1_764_417_600_000_i64}});
        let e = d.event(Outcome::Success(Some(&output))).unwrap();
        assert!(!e.cloudtrail_event.contains("very/secret/value"));
        let r = record(&e);
        assert_eq!(r["eventVersion"], "1.08");
        assert_eq!(r["eventName"], "CreateAccessKey");
        assert_eq!(r["eventSource"], "iam.amazonaws.com");
        assert_eq!(r["readOnly"], false);
        assert_eq!(
            r["requestParameters"],
            serde_json::json!({"userName": "alice"})
        );
        assert_eq!(
            r["responseElements"]["accessKey"]["secretAccessKey"],
            HIDDEN
        );
        assert_eq!(
            r["responseElements"]["accessKey"]["createDate"],
            "2025-11-29T12:00:00Z"
        );
        assert_eq!(r["userIdentity"]["type"], "IAMUser");
        assert_eq!(r["userIdentity"]["userName"], "bob");
        assert_eq!(r["userIdentity"]["accessKeyId"], "AKIABOB");
        assert_eq!(r["sourceIPAddress"], "10.1.2.3");
        assert_eq!(r["recipientAccountId"], "123456789012");
        assert_eq!(r["eventType"], "AwsApiCall");
        assert_eq!(r["managementEvent"], true);
        assert_eq!(r["eventID"], e.event_id.as_str());
        assert!(r.get("errorCode").is_none());
        assert_eq!(e.username, "bob");
        assert_eq!(
            e.resources,
            vec![
                AuditResource {
                    resource_type: "AWS::IAM::AccessKey".into(),
                    resource_name: "AKIANEW".into()
                },
                AuditResource {
                    resource_type: "AWS::IAM::User".into(),
                    resource_name: "alice".into()
                },
            ]
        );
    }

    #[test]
    fn passwords_never_appear_even_in_error_messages() {
        let mut d = draft(
            "CreateLoginProfile",
            serde_json::json!({"UserName": "alice", "Password": "Hunter2-secret!"}),
        );
        d.read_only = Some(false);
        let err = ErrorResponse {
            code: "PasswordPolicyViolation".into(),
            message: "Password Hunter2-secret! is too weak".into(),
            http_status: 400,
            sender_fault: true,
        };
        let e = d.event(Outcome::Failure(&err)).unwrap();
        assert!(
            !e.cloudtrail_event.contains("Hunter2"),
            "{}",
            e.cloudtrail_event
        );
        let r = record(&e);
        assert_eq!(r["requestParameters"]["password"], HIDDEN);
        assert_eq!(r["errorCode"], "PasswordPolicyViolation");
        assert_eq!(r["errorMessage"], HIDDEN);
        assert_eq!(r["responseElements"], Value::Null);
    }

    #[test]
    fn records_are_well_formed_json_in_cloudtrail_order_whatever_the_strings() {
        let mut d = draft(
            "CreateUser",
            serde_json::json!({"UserName": "a\"b\\c\u{1}é", "Path": "/"}),
        );
        d.user_agent = "agent \"quoted\" \\ tab\t nl\n ☃".into();
        d.source_ip = "::1".parse().unwrap();
        d.read_only = Some(false);
        let err = ErrorResponse {
            code: "EntityAlreadyExists".into(),
            message: "User with name a\"b\\c\u{1}é already exists.".into(),
            http_status: 409,
            sender_fault: true,
        };
        let e = d.event(Outcome::Failure(&err)).unwrap();
        let r = record(&e);
        assert_eq!(r["userAgent"], "agent \"quoted\" \\ tab\t nl\n ☃");
        assert_eq!(r["sourceIPAddress"], "::1");
        assert_eq!(r["requestParameters"]["userName"], "a\"b\\c\u{1}é");
        assert_eq!(r["errorMessage"], err.message.as_str());
        assert_eq!(r["readOnly"], false);
        assert_eq!(r["managementEvent"], true);
        assert_eq!(r["userIdentity"]["accountId"], "123456789012");
        // Written as serde_json writes these values, in CloudTrail's order.
        let keys: Vec<&str> = [
            "eventVersion",
            "userIdentity",
            "eventTime",
            "eventSource",
            "eventName",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "requestParameters",
            "responseElements",
            "errorCode",
            "errorMessage",
            "requestID",
            "eventID",
            "readOnly",
            "eventType",
            "managementEvent",
            "recipientAccountId",
            "eventCategory",
        ]
        .to_vec();
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| e.cloudtrail_event.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(
            positions.windows(2).all(|p| p[0] < p[1]),
            "{}",
            e.cloudtrail_event
        );
        assert_eq!(
            serde_json::to_string(&r["userAgent"]).unwrap(),
            serde_json::to_string(&d.user_agent).unwrap()
        );
        assert!(e.cloudtrail_event.contains(&format!(
            "\"userAgent\":{}",
            serde_json::to_string(&d.user_agent).unwrap()
        )));
    }

    #[test]
    fn mfa_seeds_qr_codes_and_authentication_codes_are_hidden() {
        // CreateVirtualMFADevice's output carries the seed twice (base32 and QR code PNG).
        let mut d = draft(
            "CreateVirtualMFADevice",
            serde_json::json!({"VirtualMFADeviceName": "phone"}),
        );
        d.read_only = Some(false);
        let output = serde_json::json!({"VirtualMFADevice": {
            "SerialNumber": "arn:aws:iam::123456789012:mfa/phone",
            "Base32StringSeed": "SEEDSEEDSEEDSEED", "QRCodePNG": "iVBORw0KGgoPNGPNG"}});
        let e = d.event(Outcome::Success(Some(&output))).unwrap();
        assert!(
            !e.cloudtrail_event.contains("SEEDSEED"),
            "{}",
            e.cloudtrail_event
        );
        assert!(
            !e.cloudtrail_event.contains("iVBORw0KGgo"),
            "{}",
            e.cloudtrail_event
        );
        let r = record(&e);
        let device = &r["responseElements"]["virtualMFADevice"];
        assert_eq!(device["base32StringSeed"], HIDDEN);
        assert_eq!(device["qRCodePNG"], HIDDEN);
        assert_eq!(
            device["serialNumber"],
            "arn:aws:iam::123456789012:mfa/phone"
        );

        // Authentication codes are hidden in requests, and in a failure's message.
        for op in ["EnableMFADevice", "ResyncMFADevice"] {
            let mut d = draft(
                op,
                serde_json::json!({"UserName": "alice", "SerialNumber": "arn:aws:iam::123456789012:mfa/phone",
                    "AuthenticationCode1": "314159", "AuthenticationCode2": "265358"}),
            );
            d.read_only = Some(false);
            let err = ErrorResponse {
                code: "InvalidAuthenticationCode".into(),
                message: "code 314159 is not valid".into(),
                http_status: 403,
                sender_fault: true,
            };
            let e = d.event(Outcome::Failure(&err)).unwrap();
            assert!(
                !e.cloudtrail_event.contains("314159"),
                "{}",
                e.cloudtrail_event
            );
            assert!(
                !e.cloudtrail_event.contains("265358"),
                "{}",
                e.cloudtrail_event
            );
            let r = record(&e);
            assert_eq!(r["requestParameters"]["authenticationCode1"], HIDDEN);
            assert_eq!(r["requestParameters"]["authenticationCode2"], HIDDEN);
            assert_eq!(r["requestParameters"]["userName"], "alice");
        }
    }

    #[test]
    fn secret_names_are_hidden_without_the_model() {
        let mut v = serde_json::json!({"SessionToken": "tok", "NextToken": "page2",
            "nested": [{"OldPassword": "p"}], "Base32StringSeed": "seed"});
        scrub_by_name(&mut v);
        assert_eq!(v["SessionToken"], HIDDEN);
        assert_eq!(v["NextToken"], "page2");
        assert_eq!(v["nested"][0]["OldPassword"], HIDDEN);
        assert_eq!(v["Base32StringSeed"], HIDDEN);
    }

    #[test]
    fn reads_have_no_response_elements_and_unknown_callers_no_event() {
        let mut d = draft("GetUser", serde_json::json!({"UserName": "alice"}));
        d.read_only = Some(true);
        let out = serde_json::json!({"User": {"UserName": "alice"}});
        let r = record(&d.event(Outcome::Success(Some(&out))).unwrap());
        assert_eq!(r["responseElements"], Value::Null);
        assert_eq!(r["readOnly"], true);
        d.principal = None;
        assert!(d.event(Outcome::Success(None)).is_none());
    }

    #[test]
    fn failures_before_routing_get_a_safe_name() {
        let mut d = draft("GetUser", Value::Null);
        d.input = None;
        d.operation = Some("Get<script>".into());
        let err = ErrorResponse {
            code: "SignatureDoesNotMatch".into(),
            message: "bad".into(),
            http_status: 403,
            sender_fault: true,
        };
        let e = d.event(Outcome::Failure(&err)).unwrap();
        assert_eq!(e.event_name, "Unknown");
        assert!(!e.read_only);
        assert_eq!(record(&e)["requestParameters"], Value::Null);
    }

    #[test]
    fn huge_parameters_are_left_out() {
        let mut d = draft(
            "CreatePolicy",
            serde_json::json!({"PolicyName": "p", "PolicyDocument": "x".repeat(200 * 1024)}),
        );
        d.read_only = Some(false);
        let r = record(&d.event(Outcome::Success(None)).unwrap());
        assert_eq!(r["requestParameters"], Value::Null);
        assert_eq!(r["additionalEventData"]["requestParametersOmitted"], true);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_queue_commits_in_batches_and_flushes() {
        let store =
            Store::open_in_memory(moat_store::RootKey::from_bytes(&[1u8; 32]).unwrap()).unwrap();
        let queue = AuditQueue::start(
            store.clone(),
            Arc::new(moat_types::SystemClock),
            AuditQueueConfig {
                capacity: 4,
                max_batch: 3,
                linger: Duration::from_millis(5),
                enqueue_timeout: Duration::from_secs(10),
                checkpoint_interval: Duration::from_secs(3600),
            },
        )
        .unwrap();
        let d = draft("GetUser", serde_json::json!({"UserName": "a"}));
        // More events than the queue holds: senders wait for the writer, none is dropped.
        for _ in 0..50 {
            queue
                .record(d.event(Outcome::Success(None)).unwrap())
                .await
                .unwrap();
        }
        queue.flush().await.unwrap();
        assert_eq!(store.audit_length().unwrap(), 50);
        queue.shutdown().await;
        assert!(queue
            .record(d.event(Outcome::Success(None)).unwrap())
            .await
            .is_err());
    }
}
