//! CloudTrail on the shared endpoint.

use moat_cloudtrail::{CloudTrail, Prepared};
use moat_types::Principal;
use moat_wire::{ErrorResponse, Output, ServiceModel};
use serde_json::Value;

use crate::service::{answer, invalid_input, CallContext, PreparedCall, Service, Target};

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
            Some(Err(e)) => Err(invalid_input(&e)),
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

    fn execute(
        self: Box<Self>,
        ctx: &CallContext<'_>,
    ) -> Result<Option<Box<dyn Output>>, ErrorResponse> {
        let CloudTrailCall {
            cloudtrail,
            prepared,
        } = *self;
        // An account sees only its own trail.
        let account = ctx.principal.account.to_string();
        answer(
            "cloudtrail",
            ctx.request_id,
            cloudtrail
                .execute(prepared, &account)
                .map(|response| response.into_output()),
        )
    }
}
