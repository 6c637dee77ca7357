//! The one path every AWS request takes: limits, route, authenticate, decode, authorize,
//! execute, audit, encode. Reads run on the async workers (a few microseconds against the
//! embedded database); writes, which wait for a disk sync, on the blocking pool.
//!
//! Every call whose access key is known yields one audit event (`crate::audit`): a write's
//! event is appended inside the write's own transaction, so it commits with the change or the
//! call fails; every other event is queued for a group commit before the response is sent.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use moat_sigv4::{SigV4Error, VerifyOptions};
use moat_wire::{query, AwsError, CommonError, ErrorResponse, Output, Protocol, ServiceModel};
use serde_json::Value;

use crate::audit::{AuditDraft, Outcome};
use crate::service::{CallContext, Service};
use crate::State;

/// A finished response: status, content type, body.
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
    pub request_id: String,
}

/// Everything of the request the pipeline needs, owned so it can move to the blocking pool.
pub struct Incoming {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub source_ip: std::net::IpAddr,
    pub secure_transport: bool,
}

struct Failure {
    error: ErrorResponse,
    /// Known once the operation is routed; used for metrics.
    operation: Option<String>,
}

impl<E: AwsError> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            error: ErrorResponse::from_error(&e),
            operation: None,
        }
    }
}

pub fn new_request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes: [u8; 16] = rand::random();
    let mut id = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        // A version-4 UUID: the version nibble is 4, the variant bits 10.
        let b = match i {
            6 => (b & 0x0f) | 0x40,
            8 => (b & 0x3f) | 0x80,
            _ => *b,
        };
        for nibble in [b >> 4, b & 0x0f] {
            id.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    id
}

pub async fn handle(state: std::sync::Arc<State>, req: Incoming) -> Reply {
    let state = state.as_ref();
    let started = Instant::now();
    let request_id = new_request_id();
    let now = state.clock.now();
    let is_json = req.headers.contains_key("x-amz-target");
    let auth = moat_sigv4::parse(&parts(&req));
    // An unsigned request names no service by its scope; the one operation that may come
    // unsigned is STS's.
    let unsigned_token_call =
        matches!(&auth, Err(SigV4Error::MissingAuthenticationToken)) && names_token_operation(&req);
    let scope_service = match &auth {
        Ok(a) => Some(a.scope.service.clone()),
        Err(_) => unsigned_token_call.then(|| "sts".to_owned()),
    };
    let service = scope_service
        .as_deref()
        .and_then(|s| state.services.get(s))
        .cloned();
    let service_label = scope_service
        .clone()
        .unwrap_or_else(|| "unknown".to_owned());

    let user_agent = req
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut draft = AuditDraft::new(&request_id, now, req.source_ip, user_agent, &state.region);
    let outcome = run(
        state,
        &req,
        auth,
        &request_id,
        service.clone(),
        now,
        &mut draft,
    )
    .await;
    let outcome = audit(state, &req, draft, outcome).await;
    let elapsed = started.elapsed().as_secs_f64();
    match outcome {
        Ok((operation, body, content_type)) => {
            state
                .metrics
                .observe(&service_label, &operation, "success", elapsed);
            tracing::debug!(request_id, service = %service_label, operation, "request served");
            Reply {
                status: StatusCode::OK,
                content_type,
                body,
                request_id,
            }
        }
        Err(failure) => {
            let operation = failure.operation.unwrap_or_else(|| "unknown".to_owned());
            let e = failure.error;
            state
                .metrics
                .observe(&service_label, &operation, &e.code, elapsed);
            tracing::info!(
                request_id,
                service = %service_label,
                operation,
                code = %e.code,
                status = e.http_status,
                source_ip = %req.source_ip,
                "request refused"
            );
            let json = match service.as_deref() {
                Some(s) => s.model().protocol == Protocol::Json,
                None => is_json,
            };
            let status = match service.as_deref() {
                Some(s) if e.code == "AccessDenied" => s.access_denied_status(),
                _ => e.http_status,
            };
            let (body, content_type) = if json {
                let code = json_code(&e.code);
                (
                    Bytes::from(moat_wire::json::encode_error(code, &e.message)),
                    "application/x-amz-json-1.1",
                )
            } else {
                let ns = service
                    .as_deref()
                    .and_then(|s| s.model().xml_namespace.as_deref());
                (
                    Bytes::from(query::encode_error(
                        ns,
                        e.sender_fault,
                        &e.code,
                        &e.message,
                        &request_id,
                    )),
                    "text/xml",
                )
            };
            Reply {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                content_type,
                body,
                request_id,
            }
        }
    }
}

/// JSON services name the common errors differently from query services.
fn json_code(code: &str) -> &str {
    match code {
        "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
        "InvalidClientTokenId" => "UnrecognizedClientException",
        "SignatureDoesNotMatch" => "InvalidSignatureException",
        "IncompleteSignature" => "IncompleteSignatureException",
        "AccessDenied" => "AccessDeniedException",
        "ValidationError" => "ValidationException",
        "InternalFailure" => "InternalFailure",
        other => other,
    }
}

fn parts(req: &Incoming) -> moat_sigv4::RequestParts<'_> {
    moat_sigv4::RequestParts {
        method: req.method.as_str(),
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        body: &req.body,
    }
}

fn sigv4_failure(e: &SigV4Error) -> Failure {
    let error = match e.aws_code() {
        "MissingAuthenticationToken" => CommonError::MissingAuthenticationToken,
        "IncompleteSignature" => CommonError::IncompleteSignature(e.to_string()),
        "InvalidClientTokenId" => CommonError::InvalidClientTokenId,
        _ => {
            return Failure {
                error: ErrorResponse {
                    code: e.aws_code().to_owned(),
                    message: e.to_string(),
                    http_status: e.http_status(),
                    sender_fault: true,
                },
                operation: None,
            }
        }
    };
    Failure::from(error)
}

type Served = (String, Bytes, &'static str);

/// Records the call's event unless its write transaction already did. A call whose event
/// cannot be queued is refused: a read's data is not handed out unaudited.
async fn audit(
    state: &State,
    req: &Incoming,
    mut draft: AuditDraft,
    outcome: Result<Served, Failure>,
) -> Result<Served, Failure> {
    if draft.recorded || draft.principal.is_none() {
        return outcome;
    }
    if draft.operation.is_none() {
        draft.operation = draft.model.and_then(|m| peek_operation(m, req));
    }
    let event = match &outcome {
        Ok(_) => draft.event(Outcome::Success(draft.output.as_ref())),
        Err(f) => draft.event(Outcome::Failure(&f.error)),
    };
    let Some(event) = event else {
        return outcome;
    };
    match state.audit.record(event).await {
        Ok(()) => outcome,
        Err(e) => {
            tracing::error!(request_id = %draft.request_id, error = %e, "cannot queue an audit event; refusing the call");
            match outcome {
                Ok((operation, ..)) => Err(Failure {
                    error: ErrorResponse::from_error(&CommonError::ServiceUnavailable),
                    operation: Some(operation),
                }),
                Err(f) => Err(f),
            }
        }
    }
}

/// The operation a request names, read without decoding it, for the events of calls refused
/// before decoding (bad signature, skew).
fn peek_operation(model: &ServiceModel, req: &Incoming) -> Option<String> {
    match model.protocol {
        Protocol::Query => {
            let from = |bytes: &[u8]| {
                form_urlencoded::parse(bytes)
                    .find(|(k, _)| k == "Action")
                    .map(|(_, v)| v.into_owned())
            };
            from(req.query.as_bytes()).or_else(|| from(&req.body))
        }
        Protocol::Json => req
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit_once('.'))
            .map(|(_, op)| op.to_owned()),
    }
}

/// The operations whose caller is known by a token in the input, not by a signature: AWS
/// accepts them unsigned (botocore sends them so).
const TOKEN_OPERATIONS: &[&str] = &["AssumeRoleWithWebIdentity"];

/// Whether an unsigned request names an operation that may come unsigned. The decoded
/// operation decides in the end; this only routes the request to its service.
fn names_token_operation(req: &Incoming) -> bool {
    if req.method != Method::POST && req.method != Method::GET {
        return false;
    }
    let action = |bytes: &[u8]| {
        form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.into_owned())
    };
    let named = action(req.query.as_bytes()).or_else(|| {
        (req.method == Method::POST)
            .then(|| action(&req.body))
            .flatten()
    });
    named.is_some_and(|op| TOKEN_OPERATIONS.contains(&op.as_str()))
}

async fn run(
    state: &State,
    req: &Incoming,
    auth: Result<moat_sigv4::Authorization, SigV4Error>,
    request_id: &str,
    service: Option<std::sync::Arc<dyn Service>>,
    now: time::OffsetDateTime,
    draft: &mut AuditDraft,
) -> Result<Served, Failure> {
    if req.method != Method::POST && req.method != Method::GET {
        return Err(CommonError::UnsupportedMethod(req.method.to_string()).into());
    }

    // Authenticate first: AWS reports a bad signature before a bad action. Only a call whose
    // caller is known by a token in its input may come unsigned.
    let auth = match auth {
        Ok(auth) => Some(auth),
        Err(SigV4Error::MissingAuthenticationToken) if names_token_operation(req) => None,
        Err(e) => return Err(sigv4_failure(&e)),
    };
    let Some(service) = service else {
        let name = auth.map(|a| a.scope.service).unwrap_or_default();
        return Err(CommonError::UnknownService(name).into());
    };
    draft.service = Some(service.signing_name());
    draft.model = Some(service.model());
    let signer = match &auth {
        Some(auth) => Some(verify_signature(
            state,
            req,
            auth,
            service.as_ref(),
            now,
            request_id,
            draft,
        )?),
        None => None,
    };
    let region = auth
        .as_ref()
        .map_or(state.region.as_str(), |a| a.scope.region.as_str());

    let model = service.model();
    let decoded = match model.protocol {
        Protocol::Query => decode_query(model, req),
        Protocol::Json => decode_json(model, req),
    };
    let (operation, input) = decoded.inspect_err(|f| draft.operation.clone_from(&f.operation))?;
    draft.operation = Some(operation.clone());
    draft.input = Some(input.clone());
    let with_op = |error: ErrorResponse| Failure {
        error,
        operation: Some(operation.clone()),
    };
    let prepared = service.prepare(&operation, input).map_err(with_op)?;
    let Some(mut prepared) = prepared else {
        return Err(with_op(ErrorResponse::from_error(
            &CommonError::InvalidAction(operation.clone(), model.api_version.clone()),
        )));
    };
    draft.read_only = Some(prepared.read_only());

    let principal = if prepared.authenticates_by_token() {
        // The caller is whoever the token says, whether or not the request was also signed.
        // Verifying may fetch the identity provider's keys: off the async workers.
        if let Some(caller) = prepared.token_caller() {
            draft.principal = Some(caller);
        }
        let (returned, verified) = tokio::task::spawn_blocking(move || {
            let verified = prepared.authenticate_token(now);
            (prepared, verified)
        })
        .await
        .map_err(|e| internal(request_id, &e))?;
        prepared = returned;
        let principal = verified.map_err(with_op)?;
        draft.principal = Some(principal.clone());
        principal
    } else {
        match signer {
            Some(principal) => principal,
            None => {
                return Err(with_op(ErrorResponse::from_error(
                    &CommonError::MissingAuthenticationToken,
                )))
            }
        }
    };

    let facts = crate::authz::RequestFacts {
        source_ip: req.source_ip,
        secure_transport: req.secure_transport,
        user_agent: req
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
        region,
        now,
    };
    crate::authz::authorize(
        &state.store,
        &state.identities,
        state.generation.load(std::sync::atomic::Ordering::SeqCst),
        &principal,
        prepared.as_ref(),
        &facts,
    )
    .map_err(with_op)?;

    if prepared.reads_audit_trail() {
        // Commit the events still queued so the lookup sees every call answered before it.
        state.audit.flush().await.map_err(|e| {
            tracing::error!(request_id, error = %e, "cannot flush the audit queue");
            with_op(ErrorResponse::from_error(&CommonError::ServiceUnavailable))
        })?;
    }

    // The output's value, once made for the audit event; the JSON encoder reuses it.
    let (output, value) = if prepared.read_only() {
        // Reads are a few microseconds against the embedded database: run them here rather
        // than pay a thread hand-off.
        let ctx = CallContext {
            principal: &principal,
            now,
            request_id,
        };
        let audits_output = prepared.audits_output();
        let output = prepared.execute(&ctx).map_err(with_op)?;
        if audits_output {
            draft.output = output_value(output.as_deref(), request_id).map_err(with_op)?;
        }
        (output, None)
    } else {
        // Writes wait for the disk sync; keep that off the async workers. The call's event is
        // appended in the same transaction as its change: both commit, or neither does.
        let owned_id = request_id.to_owned();
        let generation = state.generation.clone();
        let store = state.store.clone();
        let tx_draft = draft.clone();
        let result = tokio::task::spawn_blocking(move || {
            let ctx = CallContext {
                principal: &principal,
                now,
                request_id: &owned_id,
            };
            let result = store.write_scope(
                || {
                    let output = prepared.execute(&ctx)?;
                    let value = output_value(output.as_deref(), &owned_id)?;
                    Ok((output, value))
                },
                |tx, (_, value)| match tx_draft.event(Outcome::Success(value.as_ref())) {
                    Some(event) => tx.append_audit(&[event]).map(|_| ()),
                    None => Ok(()),
                },
            );
            // Any write may change a key, a user, a name or a policy: cached credentials and
            // compiled policies are stale.
            generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            result
        })
        .await
        .map_err(|e| internal(request_id, &e))?;
        match result {
            Ok(Ok((output, value))) => {
                draft.recorded = true;
                (output, value)
            }
            Ok(Err(e)) => return Err(with_op(e)),
            // Fail closed: the change was rolled back with its event.
            Err(e) => {
                let mut failure = internal(request_id, &e);
                failure.operation = Some(operation.clone());
                return Err(failure);
            }
        }
    };
    let (body, content_type) = match model.protocol {
        Protocol::Query => {
            let xml = query::encode_output(model, &operation, output.as_deref(), request_id)
                .map_err(|e| {
                    let mut failure = internal(request_id, &e);
                    failure.operation = Some(operation.clone());
                    failure
                })?;
            (Bytes::from(xml), "text/xml")
        }
        Protocol::Json => {
            let value = match value {
                Some(value) => Some(value),
                None => output_value(output.as_deref(), request_id).map_err(with_op)?,
            };
            (
                Bytes::from(moat_wire::json::encode_output(
                    model,
                    &operation,
                    value.as_ref(),
                )),
                "application/x-amz-json-1.1",
            )
        }
    };
    Ok((operation, body, content_type))
}

/// The output as a value, for an audit event or the JSON encoder.
fn output_value(
    output: Option<&dyn Output>,
    request_id: &str,
) -> Result<Option<Value>, ErrorResponse> {
    output.map(Output::to_value).transpose().map_err(|e| {
        tracing::error!(request_id, error = %e, "cannot encode an output");
        ErrorResponse::from_error(&CommonError::InternalFailure(request_id.to_owned()))
    })
}

/// Checks a signed request's scope, key and signature; the principal that signed it.
fn verify_signature(
    state: &State,
    req: &Incoming,
    auth: &moat_sigv4::Authorization,
    service: &dyn Service,
    now: time::OffsetDateTime,
    request_id: &str,
    draft: &mut AuditDraft,
) -> Result<moat_types::Principal, Failure> {
    let options = VerifyOptions {
        region: Some(state.region.clone()),
        service: Some(service.signing_name().to_owned()),
        ..VerifyOptions::default()
    };
    if let Err(e) = auth.check(now, &options) {
        // Refused before the key is needed; still, a known key's owner gets the event.
        if let Ok(Some(c)) = state.credential(&auth.access_key_id) {
            draft.principal = Some(c.principal.clone());
        }
        return Err(sigv4_failure(&e));
    }
    let credential = match &auth.session_token {
        // Temporary credentials: everything is in the token, no storage read.
        Some(token) => Some(
            state
                .session_credential(&auth.access_key_id, token, now)
                .map_err(Failure::from)?,
        ),
        None => {
            if auth.access_key_id.starts_with("ASIA") {
                // Temporary key ids are only valid with their session token.
                return Err(CommonError::InvalidClientTokenId.into());
            }
            state
                .credential(&auth.access_key_id)
                .map_err(|e| internal(request_id, &e))?
        }
    };
    if let Some(c) = &credential {
        // An inactive key or a bad signature is recorded against the key's owner.
        draft.principal = Some(c.principal.clone());
    }
    let Some(credential) = credential.filter(|c| c.active) else {
        return Err(CommonError::InvalidClientTokenId.into());
    };
    auth.verify(
        &parts(req),
        &credential.secret,
        now,
        &state.key_cache,
        &options,
    )
    .map_err(|e| sigv4_failure(&e))?;
    let principal = credential.principal.clone();
    if principal.session.is_none() {
        state.note_key_use(&principal.access_key_id, service.signing_name());
    }
    Ok(principal)
}

fn internal(request_id: &str, e: &dyn std::fmt::Display) -> Failure {
    tracing::error!(request_id, error = %e, "internal failure");
    Failure::from(CommonError::InternalFailure(request_id.to_owned()))
}

fn decode_query(model: &ServiceModel, req: &Incoming) -> Result<(String, Value), Failure> {
    let mut params = query::parse_form(req.query.as_bytes());
    // SigV4 presign parameters travel in the query string but are not operation input.
    params.retain(|k, _| !k.starts_with("X-Amz-"));
    if req.method == Method::POST {
        for (k, v) in query::parse_form(&req.body) {
            params.entry(k).or_insert(v);
        }
    }
    let Some(action) = params.remove("Action") else {
        return Err(CommonError::MissingAction.into());
    };
    let version = params.remove("Version").unwrap_or_default();
    let op = model
        .operation(&action)
        .filter(|_| version == model.api_version);
    let Some(op) = op else {
        return Err(CommonError::InvalidAction(action, version).into());
    };
    let input = match op.input.as_deref() {
        Some(shape) => query::decode_input(model, shape, &params).map_err(|e| Failure {
            error: ErrorResponse::from_error(&CommonError::ValidationError(e.message())),
            operation: Some(action.clone()),
        })?,
        None => Value::Object(serde_json::Map::new()),
    };
    Ok((action, input))
}

fn decode_json(model: &ServiceModel, req: &Incoming) -> Result<(String, Value), Failure> {
    let target = req
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let prefix = model.target_prefix.as_deref().unwrap_or_default();
    let operation = target
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|op| model.operation(op).is_some());
    let Some(operation) = operation else {
        return Err(CommonError::UnknownOperation(format!(
            "Operation `{target}` is not recognized."
        ))
        .into());
    };
    let shape = model.operation(operation).and_then(|o| o.input.clone());
    let input = match shape {
        Some(shape) => moat_wire::json::decode_input(model, &shape, &req.body).map_err(|e| {
            let error = match e {
                moat_wire::json::JsonInputError::Serialization(m) => CommonError::Serialization(m),
                moat_wire::json::JsonInputError::Validation(v) => {
                    CommonError::ValidationError(v.message())
                }
            };
            Failure {
                error: ErrorResponse::from_error(&error),
                operation: Some(operation.to_owned()),
            }
        })?,
        None => Value::Object(serde_json::Map::new()),
    };
    Ok((operation.to_owned(), input))
}

pub fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_v4() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(id, new_request_id());
    }
}
