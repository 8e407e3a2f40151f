//! Deterministic AWS names: the load balancer `<app>`, the target group `<app>-tg`, the
//! security group `<alb>-alb`.
//!
//! Load balancer and target group names are at most 32 letters, digits and hyphens, with no
//! leading or trailing hyphen; a load balancer's must not start with `internal-`. A name that
//! breaks a rule is made valid the same way every time (the kit's one shortener: cut, and
//! suffixed with a short hash of the wanted name), so reruns find the same resource and two
//! long app names that share a prefix still get different names.

use kit::names::{HASH_LEN, digest, shorten};

/// AWS's limit for load balancer and target group names.
pub const MAX: usize = 32;

/// The names of everything alb-up makes for one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub lb: String,
    pub tg: String,
    pub sg: String,
}

impl Names {
    pub fn for_app(app: &str) -> Names {
        let lb = elb_name(app, true);
        let tg = elb_name(&format!("{app}-tg"), false);
        // Security group names may be 255 characters but must not start with "sg-".
        let sg = if lb.starts_with("sg-") {
            format!("alb-{lb}")
        } else {
            format!("{lb}-alb")
        };
        Names { lb, tg, sg }
    }
}

/// Whether AWS accepts `name` as a load balancer (`lb`) or target group name.
pub fn is_valid(name: &str, lb: bool) -> bool {
    (1..=MAX).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && (!lb || !name.to_ascii_lowercase().starts_with("internal-"))
}

/// `wanted` if AWS accepts it, else a valid name derived from it deterministically.
pub fn elb_name(wanted: &str, lb: bool) -> String {
    if is_valid(wanted, lb) {
        return wanted.to_owned();
    }
    // Letters, digits and single hyphens only.
    let mut clean = String::new();
    for c in wanted.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (clean.is_empty() || clean.ends_with('-'))) {
            clean.push(c);
        }
    }
    if lb && clean.to_ascii_lowercase().starts_with("internal-") {
        clean.replace_range(..9, "int-");
    }
    if clean == wanted {
        // Only too long (an app name of up to 48 characters).
        return shorten(wanted, MAX);
    }
    // Characters were replaced: the wanted name's hash keeps two such names apart.
    let mut stem: String = clean.chars().take(MAX - HASH_LEN - 1).collect();
    while stem.ends_with('-') {
        stem.pop();
    }
    if stem.is_empty() {
        format!("alb-{}", digest(wanted))
    } else {
        format!("{stem}-{}", digest(wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_valid_names_are_kept() {
        let n = Names::for_app("unicorn-ui");
        assert_eq!(n.lb, "unicorn-ui");
        assert_eq!(n.tg, "unicorn-ui-tg");
        assert_eq!(n.sg, "unicorn-ui-alb");
    }

    #[test]
    fn long_names_are_cut_and_hashed_deterministically() {
        // The longest app name the CLI allows.
        for app in [
            "a-very-long-application-name-for-tests1x".to_owned(),
            "b".repeat(48),
            format!("{}-x", "c".repeat(45)),
        ] {
            let n = Names::for_app(&app);
            assert!(is_valid(&n.lb, true), "{}", n.lb);
            assert!(is_valid(&n.tg, false), "{}", n.tg);
            assert_eq!(n.lb.len(), MAX);
            assert_ne!(n.lb, n.tg);
            assert_eq!(n, Names::for_app(&app), "same input, same names");
        }
        assert_ne!(
            Names::for_app("a-very-long-application-name-for-tests1").lb,
            Names::for_app("a-very-long-application-name-for-tests1x").lb,
            "a shared prefix still differs"
        );
        // 30 characters: the ALB name fits, the target group's does not.
        let n30 = Names::for_app(&"b".repeat(30));
        assert_eq!(n30.lb, "b".repeat(30));
        assert!(is_valid(&n30.tg, false) && n30.tg.starts_with("bbbb"));
    }

    #[test]
    fn invalid_names_are_made_valid() {
        for (wanted, lb) in [
            ("internal-app", true),
            ("-x-", false),
            ("a_b.c", false),
            ("a--b", true),
            ("---", true),
        ] {
            let name = elb_name(wanted, lb);
            assert!(is_valid(&name, lb), "{wanted} → {name}");
            assert_eq!(name, elb_name(wanted, lb));
        }
        assert!(elb_name("internal-app", true).starts_with("int-app-"));
        assert_eq!(elb_name("internal-app", false), "internal-app");
        assert!(Names::for_app("sg-x").sg.starts_with("alb-"));
    }
}
