//! The flags, resolved: a flag wins; else what the document's own `core` section says (a
//! rerun of one step converges to what the chain made); else the seed's defaults.

use ipnet::Ipv4Net;
use kit::Result;
use stackdoc::{Core, Doc};

use crate::Args;
use crate::layout::{self, DEFAULT_AZS, DEFAULT_CIDR, DEFAULT_CORE_NAME};

#[derive(Debug, Clone)]
pub struct Settings {
    /// The core-infra name: VPC and cluster name, subnet and namespace name prefix.
    pub core: String,
    /// The VPC CIDR for a new VPC.
    pub cidr: Ipv4Net,
    /// Whether `--cidr` was given (an existing VPC with another CIDR is then an error).
    pub cidr_given: bool,
    /// How many availability zones.
    pub azs: u32,
    /// Whether `--azs` was given (more than the region has is then an error; a default is
    /// trimmed to the region's count).
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

        // The document's own section, when it describes the same core-infra. A broken one is
        // ignored: this tool rewrites it.
        let section = doc.section::<Core>().ok().flatten();
        let core = args
            .core_name
            .clone()
            .or_else(|| section.as_ref().map(|s| s.name.clone()))
            .filter(|n| layout::check_core_name(n).is_ok())
            .unwrap_or_else(|| DEFAULT_CORE_NAME.to_owned());
        let section = section.filter(|s| s.name == core);

        let cidr = match cidr_flag {
            Some(c) => c,
            None => section
                .as_ref()
                .and_then(|s| layout::parse_cidr(&s.vpc_cidr).ok())
                .unwrap_or_else(|| layout::parse_cidr(DEFAULT_CIDR).expect("default CIDR")),
        };
        let azs = args.azs.unwrap_or_else(|| {
            section
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
