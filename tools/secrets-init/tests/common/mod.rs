//! Helpers shared by the secrets-init tests: independent Secrets Manager reads.
#![allow(dead_code)]

use testkit::Emulator;

pub const TOKEN: &str = "ghp_TestToken0123456789abcdefABCDEF";
pub const OAUTH_ID: &str = "Iv1.0123456789abcdef";
pub const OAUTH_SECRET: &str = "oauthsecret0123456789abcdef0123456789abcd";

pub fn sm(emu: &Emulator) -> testkit::secretsmanager::Client {
    testkit::secretsmanager::Client::new(&emu.sdk())
}

pub fn secret_value(emu: &Emulator, id: &str) -> String {
    let out = emu
        .block_on(sm(emu).get_secret_value().secret_id(id).send())
        .expect("get secret value");
    out.secret_string().unwrap().to_owned()
}

/// The AWSCURRENT version of a secret, as Secrets Manager says.
pub fn current_version(emu: &Emulator, id: &str) -> String {
    let d = emu
        .block_on(sm(emu).describe_secret().secret_id(id).send())
        .expect("describe secret");
    d.version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(v, _)| v.clone())
        .expect("a current version")
}

pub fn exists(emu: &Emulator, id: &str) -> bool {
    emu.block_on(sm(emu).describe_secret().secret_id(id).send())
        .is_ok()
}

pub fn scheduled_for_deletion(emu: &Emulator, id: &str) -> bool {
    emu.block_on(sm(emu).describe_secret().secret_id(id).send())
        .unwrap()
        .deleted_date()
        .is_some()
}

pub fn tags_of(emu: &Emulator, id: &str) -> std::collections::BTreeMap<String, String> {
    let d = emu
        .block_on(sm(emu).describe_secret().secret_id(id).send())
        .unwrap();
    testkit::tag_map(
        d.tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap())),
    )
}

/// A secret made by hand, with these tags.
pub fn make_secret(emu: &Emulator, name: &str, value: &str, tags: &[(&str, &str)]) {
    let mut req = sm(emu).create_secret().name(name).secret_string(value);
    for (k, v) in tags {
        req = req.tags(
            testkit::secretsmanager::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build(),
        );
    }
    emu.block_on(req.send()).unwrap();
}

pub fn up(emu: &Emulator) -> testkit::Value {
    emu.tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .run()
        .ok()
}
