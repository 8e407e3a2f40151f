//! svc-up against the emulator: what a user would check with independent describe calls.
//! One test binary (one link), one module per concern.

#[path = "common/mod.rs"]
mod common;

#[path = "svc_up/create.rs"]
mod create;
#[path = "svc_up/destroy.rs"]
mod destroy;
#[path = "svc_up/idempotence.rs"]
mod idempotence;
#[path = "svc_up/image.rs"]
mod image;
#[path = "svc_up/privilege.rs"]
mod privilege;
#[path = "svc_up/rollout.rs"]
mod rollout;
#[path = "svc_up/secrets.rs"]
mod secrets;
#[path = "svc_up/settings.rs"]
mod settings;
