//! Typed forms of the emulator's control requests: a misspelt field is a compile error here,
//! and an unknown key a 400 from the emulator.

use serde_json::{Map, Value, json};

/// Provisioning holds in seconds (None: leave as set). Each is a hold the emulator registers
/// (GET /_stagehand/holds lists them with their meaning).
#[derive(Debug, Clone, Default)]
pub struct Holds {
    pub rds_cluster_s: Option<f64>,
    pub rds_instance_s: Option<f64>,
    pub alb_s: Option<f64>,
    pub nat_gateway_s: Option<f64>,
    pub namespace_s: Option<f64>,
    /// A new service-linked role cannot be assumed yet (ECS capacity providers and
    /// CodeStar Notifications rules fail as on AWS).
    pub slr_lag_s: Option<f64>,
    /// A requester-managed network interface outlives its owner (Aurora instance, ALB, NAT
    /// gateway, Fargate task) by this long, holding its subnet and security groups.
    pub eni_linger_s: Option<f64>,
    /// A CodeBuild build's duration (registered by the pipeline modules).
    pub build_s: Option<f64>,
    /// An ECS deployment's IN_PROGRESS time (registered by the ECS module).
    pub rollout_s: Option<f64>,
    /// Any other registered hold, by key (for holds added after this struct).
    pub other: Vec<(String, f64)>,
}

impl Holds {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("rds_cluster_s", self.rds_cluster_s),
            ("rds_instance_s", self.rds_instance_s),
            ("alb_s", self.alb_s),
            ("nat_gateway_s", self.nat_gateway_s),
            ("namespace_s", self.namespace_s),
            ("slr_lag_s", self.slr_lag_s),
            ("eni_linger_s", self.eni_linger_s),
            ("build_s", self.build_s),
            ("rollout_s", self.rollout_s),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        }
        for (k, v) in &self.other {
            m.insert(k.clone(), json!(v));
        }
        Value::Object(m)
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// The service's throttling error.
    Throttle,
    /// 503 ServiceUnavailable.
    ServerError,
    /// The connection is dropped before an answer.
    Drop,
    /// The call is applied, then the answer is lost with the connection (the SDK retries
    /// a call that already happened).
    Lost,
    /// Only added latency.
    Latency(u64),
    /// This error code, message and HTTP status; `forward` lets the call happen first.
    Error {
        code: String,
        message: String,
        status: String,
        forward: bool,
    },
}

/// One injected fault: matches a service and action (`"*"` for any), fires `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    pub service: String,
    pub action: String,
    pub kind: FaultKind,
    pub times: i64,
}

impl Fault {
    fn new(service: &str, action: &str, kind: FaultKind) -> Fault {
        Fault {
            service: service.into(),
            action: action.into(),
            kind,
            times: 1,
        }
    }
    pub fn throttle(service: &str, action: &str) -> Fault {
        Self::new(service, action, FaultKind::Throttle)
    }
    pub fn server_error(service: &str, action: &str) -> Fault {
        Self::new(service, action, FaultKind::ServerError)
    }
    pub fn drop(service: &str, action: &str) -> Fault {
        Self::new(service, action, FaultKind::Drop)
    }
    /// Apply the call, then drop its answer.
    pub fn lost(service: &str, action: &str) -> Fault {
        Self::new(service, action, FaultKind::Lost)
    }
    pub fn latency(service: &str, action: &str, ms: u64) -> Fault {
        Self::new(service, action, FaultKind::Latency(ms))
    }
    /// Answer `code` (HTTP 400) instead of calling the service.
    pub fn error(service: &str, action: &str, code: &str, message: &str) -> Fault {
        Self::new(
            service,
            action,
            FaultKind::Error {
                code: code.into(),
                message: message.into(),
                status: "400 Bad Request".into(),
                forward: false,
            },
        )
    }
    /// How many times it fires (-1: always).
    pub fn times(mut self, n: i64) -> Fault {
        self.times = n;
        self
    }
    /// For an error: let the call reach the service first ("someone else did it meanwhile").
    pub fn forwarded(mut self) -> Fault {
        if let FaultKind::Error { forward, .. } = &mut self.kind {
            *forward = true;
        }
        self
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"service": self.service, "action": self.action, "times": self.times});
        match &self.kind {
            FaultKind::Throttle => v["kind"] = json!("throttle"),
            FaultKind::ServerError => v["kind"] = json!("5xx"),
            FaultKind::Drop => v["kind"] = json!("drop"),
            FaultKind::Lost => v["kind"] = json!("lost"),
            FaultKind::Latency(ms) => {
                v["kind"] = json!("latency");
                v["latency_ms"] = json!(ms);
            }
            FaultKind::Error {
                code,
                message,
                status,
                forward,
            } => {
                v["kind"] = json!("error");
                v["code"] = json!(code);
                v["message"] = json!(message);
                v["status"] = json!(status);
                v["forward"] = json!(forward);
            }
        }
        v
    }
}

impl crate::Emulator {
    /// Switch the emulator's model validation and its table of AWS's documented limits on or
    /// off (both are on in a fresh emulator); for a test that needs moto's laxer behaviour.
    pub fn validation(&self, model: bool, limits: bool) {
        self.control(
            "POST",
            "validation",
            Some(&json!({"enabled": model, "limits": limits})),
        );
    }

    /// Every request the emulator refused as AWS would (its model or a documented limit):
    /// `{service, action, kind: "model"|"limit", code, message}` each, oldest first.
    pub fn refusals(&self) -> Vec<Value> {
        self.control("GET", "validation", None)["refusals"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// An Aurora cluster's current master password, as the emulator keeps it (never shown by
    /// a describe). Panics when there is no such cluster.
    pub fn master_password(&self, cluster: &str) -> String {
        self.control(
            "GET",
            &format!("rds/master-password?cluster={cluster}"),
            None,
        )["password"]
            .as_str()
            .expect("password")
            .to_owned()
    }
}
