//! core-up's settings (`--core-name`, `--cidr`, `--azs`): what the flags resolve to, and what
//! the section records.
//!
//! The kit remembers them in `core.settings` and passes a recorded value as if it had been
//! typed, so on a rerun a flag is either typed or recorded. A document written before
//! settings were recorded (a `core` section without `settings`) still converges: its own
//! section's name, CIDR and zone count stand in for the flags. Else the seed's defaults.
//!
//! What is recorded is what is in effect: the VPC's own CIDR and zone count when core-up
//! manages the network; only the name when it reuses someone else's core-infra (found by its
//! Name tags, `created: false`), whose CIDR and zones are not core-up's to choose.

use ipnet::Ipv4Net;
use kit::Result;
use serde_json::{Map, Value};
use stackdoc::{Core, Doc};

use crate::Args;
use crate::layout::{self, DEFAULT_AZS, DEFAULT_CIDR, DEFAULT_CORE_NAME};

/// The setting names: the flags' long names.
pub const CORE_NAME: &str = "core-name";
pub const CIDR: &str = "cidr";
pub const AZS: &str = "azs";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The core-infra name: VPC and cluster name, subnet and namespace name prefix.
    pub core: String,
    /// The VPC CIDR for a new VPC.
    pub cidr: Ipv4Net,
    /// Whether `--cidr` was given or recorded (an existing VPC of core-up's with another CIDR
    /// is then an error; someone else's is reused with a warning).
    pub cidr_given: bool,
    /// How many availability zones.
    pub azs: u32,
    /// Whether `--azs` was given or recorded (more than the region has is then an error; a
    /// default is trimmed to the region's count).
    pub azs_given: bool,
}

impl Settings {
    pub fn resolve(args: &Args, doc: &Doc) -> Result<Settings> {
        if let Some(name) = &args.core_name {
            layout::check_core_name(name)?;
        }
        if let Some(n) = args.azs {
            layout::check_azs(n)?;
        }
        let cidr_flag = args.cidr.as_deref().map(layout::parse_cidr).transpose()?;

        // A document from before recorded settings: its section describes what the chain
        // made. A broken one is ignored: this tool rewrites it.
        let legacy = doc
            .settings(<Core as stackdoc::Section>::NAME)
            .is_none()
            .then(|| doc.section::<Core>().ok().flatten())
            .flatten();
        let core = args
            .core_name
            .clone()
            .or_else(|| legacy.as_ref().map(|s| s.name.clone()))
            .filter(|n| layout::check_core_name(n).is_ok())
            .unwrap_or_else(|| DEFAULT_CORE_NAME.to_owned());
        let legacy = legacy.filter(|s| s.name == core && s.created);

        let cidr = match cidr_flag {
            Some(c) => c,
            None => legacy
                .as_ref()
                .and_then(|s| layout::parse_cidr(&s.vpc_cidr).ok())
                .unwrap_or_else(|| layout::parse_cidr(DEFAULT_CIDR).expect("default CIDR")),
        };
        let azs = args.azs.unwrap_or_else(|| {
            legacy
                .as_ref()
                .map(|s| s.public_subnets.len() as u32)
                .filter(|n| layout::check_azs(*n).is_ok())
                .unwrap_or(DEFAULT_AZS)
        });
        Ok(Settings {
            core,
            cidr,
            cidr_given: args.cidr.is_some(),
            azs,
            azs_given: args.azs.is_some(),
        })
    }
}

/// What `core.settings` records: the name always; the CIDR and the zone count in effect when
/// the network is core-up's (found or to be created), none when it is someone else's.
pub fn recorded(
    parsed: &Map<String, Value>,
    core: &str,
    network: Option<(String, u32)>,
) -> Map<String, Value> {
    let mut out = parsed.clone();
    out.insert(CORE_NAME.into(), Value::String(core.to_owned()));
    match network {
        Some((cidr, azs)) => {
            out.insert(CIDR.into(), Value::String(cidr));
            out.insert(AZS.into(), Value::String(azs.to_string()));
        }
        None => {
            out.remove(CIDR);
            out.remove(AZS);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(core: Option<&str>, cidr: Option<&str>, azs: Option<u32>) -> Args {
        Args {
            core_name: core.map(str::to_owned),
            cidr: cidr.map(str::to_owned),
            azs,
            force: false,
        }
    }

    fn doc(v: Value) -> Doc {
        Doc::parse(&v.to_string()).unwrap()
    }

    fn core_section(name: &str, cidr: &str, zones: usize, created: bool) -> Value {
        let subnet = json!({"id": "subnet-1", "cidr": "10.0.0.0/24", "az": "us-west-2a"});
        json!({
            "name": name, "created": created, "vpc_id": "vpc-1", "vpc_cidr": cidr,
            "public_subnets": vec![subnet.clone(); zones],
            "private_subnets": vec![subnet; zones],
            "cluster_name": name, "cluster_arn": "arn:aws:ecs:us-west-2:123456789012:cluster/x",
            "namespace_id": "ns-1", "namespace_name": format!("default.{name}.local"),
            "namespace_arn": "arn:aws:servicediscovery:us-west-2:123456789012:namespace/ns-1"
        })
    }

    #[test]
    fn a_new_stack_takes_the_seed_defaults() {
        let s = Settings::resolve(&args(None, None, None), &Doc::new()).unwrap();
        assert_eq!(
            (s.core.as_str(), s.cidr.to_string(), s.azs, s.cidr_given),
            ("core-infra", "10.0.0.0/16".to_owned(), 3, false)
        );
    }

    #[test]
    fn a_document_without_settings_stands_in_for_the_flags() {
        let d =
            doc(json!({"version": 1, "core": core_section("platform", "10.20.0.0/18", 2, true)}));
        let s = Settings::resolve(&args(None, None, None), &d).unwrap();
        assert_eq!(
            (s.core.as_str(), s.cidr.to_string(), s.azs),
            ("platform", "10.20.0.0/18".to_owned(), 2)
        );
        // Someone else's reused core-infra gives its name, not its layout.
        let d =
            doc(json!({"version": 1, "core": core_section("shared", "172.31.0.0/16", 2, false)}));
        let s = Settings::resolve(&args(None, None, None), &d).unwrap();
        assert_eq!((s.core.as_str(), s.azs), ("shared", 3));
        assert_eq!(s.cidr.to_string(), "10.0.0.0/16");
    }

    #[test]
    fn with_recorded_settings_the_section_is_not_read_so_a_reset_returns_to_the_default() {
        let mut section = core_section("platform", "10.20.0.0/18", 2, true);
        section["settings"] = json!({"core-name": "platform", "cidr": "10.20.0.0/18"});
        let d = doc(json!({"version": 1, "core": section}));
        // The kit injected core-name and cidr; azs was reset.
        let s = Settings::resolve(&args(Some("platform"), Some("10.20.0.0/18"), None), &d).unwrap();
        assert_eq!(s.azs, 3);
        assert!(s.cidr_given && !s.azs_given);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for a in [
            args(Some("bad name"), None, None),
            args(None, Some("10.0.0.0/8"), None),
            args(None, None, Some(1)),
        ] {
            assert_eq!(
                Settings::resolve(&a, &Doc::new()).unwrap_err().exit_code(),
                2
            );
        }
    }

    #[test]
    fn recorded_values_are_those_in_effect() {
        let parsed = Map::new();
        let own = recorded(&parsed, "core-infra", Some(("10.0.0.0/16".into(), 3)));
        assert_eq!(
            Value::Object(own),
            json!({"core-name": "core-infra", "cidr": "10.0.0.0/16", "azs": "3"})
        );
        let mut given = Map::new();
        given.insert("cidr".into(), json!("10.9.0.0/16"));
        let reused = recorded(&given, "shared", None);
        assert_eq!(Value::Object(reused), json!({"core-name": "shared"}));
    }
}
