//! CloudTrail on the shared endpoint.

use moat_cloudtrail::{CloudTrail, Prepared};
use moat_types::Principal;
use moat_wire::{AwsError, CommonError, ErrorResponse, ServiceModel};
use serde_json::Value;

use crate::service::{CallContext, PreparedCall, Service, Target};

pub struct CloudTrailService {
    pub cloudtrail: CloudTrail,
}

impl Service for CloudTrailService {
    fn signing_name(&self) -> &'static str {
        "cloudtrail"
    }

    fn model(&self) -> &'static ServiceModel {
        moat_cloudtrail::model()
    }

    fn prepare(
        &self,
        operation: &str,
        input: Value,
    ) -> Result<Option<Box<dyn PreparedCall>>, ErrorResponse> {
        match moat_cloudtrail::Request::from_value(operation, input) {
            None => Ok(None),
            Some(Err(e)) => Err(ErrorResponse::from_error(&CommonError::ValidationError(
                format!("1 validation error detected: {e}"),
            ))),
            Some(Ok(request)) => Ok(Some(Box::new(CloudTrailCall {
                cloudtrail: self.cloudtrail.clone(),
                prepared: CloudTrail::prepare(request),
            }))),
        }
    }
}

struct CloudTrailCall {
    cloudtrail: CloudTrail,
    prepared: Prepared,
}

impl PreparedCall for CloudTrailCall {
    fn operation(&self) -> &'static str {
        self.prepared.operation
    }

    fn action(&self) -> String {
        self.prepared.action()
    }

    fn read_only(&self) -> bool {
        self.prepared.read_only()
    }

    fn reads_audit_trail(&self) -> bool {
        self.prepared.reads_audit_trail()
    }

    fn target(&self, _principal: &Principal) -> Result<Target, ErrorResponse> {
        Ok(Target::new(self.prepared.resource_arn(), Vec::new()))
    }

    fn execute(self: Box<Self>, ctx: &CallContext<'_>) -> Result<Option<Value>, ErrorResponse> {
        let CloudTrailCall {
            cloudtrail,
            prepared,
        } = *self;
        // An account sees only its own trail.
        let account = ctx.principal.account.to_string();
        match cloudtrail.execute(prepared, &account) {
            Ok(response) => response.to_value().map_err(|e| {
                tracing::error!(request_id = ctx.request_id, error = %e, "cannot encode CloudTrail output");
                ErrorResponse::from_error(&CommonError::InternalFailure(ctx.request_id.to_owned()))
            }),
            Err(e) => {
                if e.http_status() >= 500 {
                    tracing::error!(request_id = ctx.request_id, error = %e, "CloudTrail operation failed");
                }
                Err(ErrorResponse::from_error(&e))
            }
        }
    }
}
