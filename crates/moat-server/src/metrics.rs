//! Prometheus metrics served at `/metrics`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "moat_requests_total",
                "AWS API requests by service, operation and outcome",
            ),
            &["service", "operation", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "moat_request_duration_seconds",
                "Time from receiving a request's body to its response",
            )
            .buckets(vec![
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
                0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["service", "operation"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
        })
    }

    /// `outcome` is `success`, or the AWS error code.
    pub fn observe(&self, service: &str, operation: &str, outcome: &str, seconds: f64) {
        self.requests
            .with_label_values(&[service, operation, outcome])
            .inc();
        self.latency
            .with_label_values(&[service, operation])
            .observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if encoder.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
