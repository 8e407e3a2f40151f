//! The address layout of a core-infra, and the checks of the flags that shape it. Pure: no
//! AWS call, so bad input fails before anything is asked of AWS.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use kit::{Error, Result};

/// The seed's layout: public subnets at cidrsubnet(cidr, 8, k), private ones at
/// cidrsubnet(cidr, 8, k + 10).
pub const NEWBITS: u8 = 8;
pub const PRIVATE_OFFSET: u32 = 10;
/// AWS takes VPCs from /16 to /28, and subnets down to /28, so with 8 new bits the VPC
/// prefix can be /16 to /20.
pub const MIN_PREFIX: u8 = 16;
pub const MAX_PREFIX: u8 = 28 - NEWBITS;
/// Public subnets take indices 0..N and private ones 10..N+10: more than 10 would collide.
pub const MAX_AZS: u32 = PRIVATE_OFFSET;
/// An ALB needs subnets in at least two zones, and so does a DB subnet group.
pub const MIN_AZS: u32 = 2;

pub const DEFAULT_CIDR: &str = "10.0.0.0/16";
pub const DEFAULT_AZS: u32 = 3;
pub const DEFAULT_CORE_NAME: &str = "core-infra";

/// Public or private: which route table a subnet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Public,
    Private,
}

impl Tier {
    pub const BOTH: [Tier; 2] = [Tier::Public, Tier::Private];

    pub fn word(self) -> &'static str {
        match self {
            Tier::Public => "public",
            Tier::Private => "private",
        }
    }
}

/// Parse `--cidr`: an IPv4 network of /16 to /20, written as its network address.
pub fn parse_cidr(text: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = text.trim().parse().map_err(|_| {
        Error::usage(format!(
            "--cidr '{text}' is not an IPv4 CIDR block; write it like 10.0.0.0/16"
        ))
    })?;
    if net.trunc() != net {
        return Err(Error::usage(format!(
            "--cidr {text} has host bits set; the network is {}",
            net.trunc()
        )));
    }
    let prefix = net.prefix_len();
    if !(MIN_PREFIX..=MAX_PREFIX).contains(&prefix) {
        return Err(Error::usage(format!(
            "--cidr {text}: the prefix must be /{MIN_PREFIX} to /{MAX_PREFIX} (AWS allows VPCs of /16 at the largest, and the subnets cidrsubnet(cidr, {NEWBITS}, k) must be /28 or larger); e.g. --cidr 10.0.0.0/16"
        )));
    }
    Ok(net)
}

/// Check `--azs`: 2 to 10 (the region's own count is checked once it is known).
pub fn check_azs(n: u32) -> Result<()> {
    if n < MIN_AZS {
        return Err(Error::usage(format!(
            "--azs {n}: a core-infra needs at least {MIN_AZS} availability zones (an ALB needs subnets in two zones, and a DB subnet group must cover two); use e.g. --azs 3"
        )));
    }
    if n > MAX_AZS {
        return Err(Error::usage(format!(
            "--azs {n}: at most {MAX_AZS} (public subnets take cidrsubnet indices 0..N, private ones 10..N+10)"
        )));
    }
    Ok(())
}

/// Check `--core-name`: it names the ECS cluster and the DNS namespace default.NAME.local, so
/// it is one DNS label: letters, digits and hyphens, at most 63, not starting or ending with
/// a hyphen.
pub fn check_core_name(name: &str) -> Result<()> {
    let ok = (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--core-name '{name}' is invalid; it names the ECS cluster and the namespace default.NAME.local, so use 1 to 63 letters, digits and hyphens (e.g. core-infra)"
        )))
    }
}

/// cidrsubnet(cidr, NEWBITS, index), as Terraform computes it.
pub fn cidrsubnet(cidr: Ipv4Net, index: u32) -> Ipv4Net {
    let prefix = cidr.prefix_len() + NEWBITS;
    let base = u32::from(cidr.network());
    let step = 1u32 << (32 - u32::from(prefix));
    Ipv4Net::new(Ipv4Addr::from(base + index * step), prefix).expect("prefix at most 28")
}

/// The CIDR of subnet `k` of a tier.
pub fn subnet_cidr(cidr: Ipv4Net, tier: Tier, k: u32) -> Ipv4Net {
    match tier {
        Tier::Public => cidrsubnet(cidr, k),
        Tier::Private => cidrsubnet(cidr, k + PRIVATE_OFFSET),
    }
}

/// The Name tags: the VPC, IGW and cluster take the core name itself.
pub fn subnet_name(core: &str, tier: Tier, az: &str) -> String {
    format!("{core}-{}-{az}", tier.word())
}
pub fn subnet_prefix(core: &str, tier: Tier) -> String {
    format!("{core}-{}-", tier.word())
}
pub fn route_table_name(core: &str, tier: Tier) -> String {
    format!("{core}-{}", tier.word())
}
pub fn nat_name(core: &str) -> String {
    format!("{core}-nat")
}
pub fn namespace_name(core: &str) -> String {
    format!("default.{core}.local")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_layout() {
        let cidr = parse_cidr("10.0.0.0/16").unwrap();
        let public: Vec<String> = (0..3)
            .map(|k| subnet_cidr(cidr, Tier::Public, k).to_string())
            .collect();
        let private: Vec<String> = (0..3)
            .map(|k| subnet_cidr(cidr, Tier::Private, k).to_string())
            .collect();
        assert_eq!(public, ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]);
        assert_eq!(private, ["10.0.10.0/24", "10.0.11.0/24", "10.0.12.0/24"]);
    }

    #[test]
    fn other_prefixes_follow_cidrsubnet() {
        let cidr = parse_cidr("172.16.16.0/20").unwrap();
        assert_eq!(
            subnet_cidr(cidr, Tier::Public, 1).to_string(),
            "172.16.16.16/28"
        );
        assert_eq!(
            subnet_cidr(cidr, Tier::Private, 0).to_string(),
            "172.16.16.160/28"
        );
        let cidr = parse_cidr("10.8.0.0/18").unwrap();
        assert_eq!(
            subnet_cidr(cidr, Tier::Private, 2).to_string(),
            "10.8.3.0/26"
        );
    }

    #[test]
    fn bad_cidrs_are_usage_errors() {
        for bad in [
            "10.0.0.0",
            "nonsense",
            "10.0.0.0/33",
            "10.0.0.1/16",
            "10.0.0.0/8",
            "10.0.0.0/21",
            "10.0.0.0/24",
            "fd00::/16",
        ] {
            let e = parse_cidr(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.message.contains("--cidr"), "{bad}: {}", e.message);
        }
        assert!(
            parse_cidr("10.0.0.1/16")
                .unwrap_err()
                .message
                .contains("10.0.0.0/16")
        );
        assert!(parse_cidr("10.0.0.0/20").is_ok());
    }

    #[test]
    fn az_counts() {
        assert!(check_azs(0).unwrap_err().message.contains("--azs 0"));
        let one = check_azs(1).unwrap_err();
        assert_eq!(one.exit_code(), 2);
        assert!(one.message.contains("two zones"), "{}", one.message);
        assert!(check_azs(11).is_err());
        assert!(check_azs(2).is_ok() && check_azs(10).is_ok());
    }

    #[test]
    fn core_names() {
        assert!(check_core_name("core-infra").is_ok());
        for bad in ["", "-x", "x-", "a.b", "a b", &"a".repeat(64)] {
            assert!(check_core_name(bad).is_err(), "{bad}");
        }
    }
}
