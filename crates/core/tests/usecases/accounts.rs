//! User administration as a use case: who may do it, what the trail says about who did, and the
//! rules that no edge may forget (nobody disables themselves, a second administrator decides a
//! privileged grant, the sessions of a changed account end).

use sejf_core::users::RoleChange;
use sejf_core::{Actor, CoreError};
use sejf_domain::roles::Role;

use crate::{CLIENT, Fixture, PASSWORD, on_both};

on_both!(administration_is_decided_in_core_and_attributed_to_its_actor, a_privileged_grant_needs_a_second_administrator);

/// The trail's (actor, action) pairs of user administration, in order.
async fn admin_trail(fx: &Fixture) -> Vec<(String, String)> {
    let page = fx.app.audit_page(&Actor::operator(), 0, 10_000).await.unwrap();
    page.into_iter()
        .map(|e| e.event)
        .filter(|e| e.action.starts_with("user.") || e.action.starts_with("mfa.reset") || e.action == "auth.unlock")
        .map(|e| (e.actor, e.action))
        .collect()
}

fn forbidden<T: std::fmt::Debug>(what: &str, r: Result<T, CoreError>) {
    assert!(matches!(r, Err(CoreError::Forbidden(_))), "{what}: {r:?}");
}

async fn administration_is_decided_in_core_and_attributed_to_its_actor(fx: &Fixture) {
    let app = &fx.app;
    let admin = fx.user("ada", Role::Admin).await;
    let sam = fx.user("sam", Role::Sales).await;
    let vic = fx.user("vic", Role::Sales).await;

    // Whoever calls, the use case decides: a salesperson administers nobody, and nobody
    // disables themselves.
    forbidden("sales disables", app.disable_user(&sam, "vic").await);
    forbidden("sales enables", app.enable_user(&sam, "vic").await);
    forbidden("sales resets TOTP", app.reset_mfa(&sam, "vic").await);
    forbidden("sales unlocks", app.unlock(&sam, "vic").await);
    forbidden("admin disables themselves", app.disable_user(&admin, "ada").await);
    forbidden("sales changes a role", app.change_role(&sam, "vic", Role::Support).await);
    forbidden("admin changes their own role", app.change_role(&admin, "ada", Role::Support).await);
    assert!(matches!(app.disable_user(&admin, "nobody").await, Err(CoreError::NotFound)));

    // An administrator's changes are the administrator's in the trail, the CLI's the operator's.
    app.disable_user(&admin, "vic").await.unwrap();
    assert!(app.user("vic").await.unwrap().disabled);
    assert!(app.authenticate(&vic.token, CLIENT).await.is_err(), "a disabled user's sessions end");
    app.enable_user(&admin, "vic").await.unwrap();
    app.reset_mfa(&admin, "vic").await.unwrap();
    app.unlock(&admin, "vic").await.unwrap();
    app.disable_user(&Actor::operator(), "sam").await.unwrap();
    let trail = admin_trail(fx).await;
    let of = |action: &str| trail.iter().filter(|(_, a)| a == action).map(|(who, _)| who.as_str()).collect::<Vec<_>>();
    assert_eq!(of("user.disable"), ["ada", "operator"]);
    assert_eq!(of("user.enable"), ["ada"]);
    assert_eq!(of("mfa.reset"), ["ada"]);
    assert_eq!(of("auth.unlock"), ["ada"]);
    // The operator's tail is the end of the trail, oldest first; nobody else reads it unrecorded.
    let whole = app.audit_page(&Actor::operator(), 0, 10_000).await.unwrap();
    let tail = app.audit_last(&Actor::operator(), 3).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), whole[whole.len() - 3..].iter().map(|e| e.seq).collect::<Vec<_>>());
    forbidden("an administrator reads the trail unrecorded", app.audit_page(&admin, 0, 10).await);
    forbidden("an administrator tails the trail unrecorded", app.audit_last(&admin, 3).await);
    // A role below the privileged ones is set at once, and the account signs in again.
    let changed = match app.change_role(&admin, "vic", Role::Support).await.unwrap() {
        RoleChange::Done(u) => u,
        other => panic!("support needs no second administrator: {other:?}"),
    };
    assert_eq!(changed.role, Role::Support);
    app.login("vic", PASSWORD, None, CLIENT).await.unwrap();
}

async fn a_privileged_grant_needs_a_second_administrator(fx: &Fixture) {
    let app = &fx.app;
    let ada = fx.user("ada", Role::Admin).await;
    let bob = fx.user("bob", Role::Admin).await;
    let ray = fx.user("ray", Role::Sales).await;
    let grant = match app.change_role(&ada, "ray", Role::Dpo).await.unwrap() {
        RoleChange::Pending(u, g) => {
            assert_eq!(u.role, Role::Sales, "the role waits");
            g
        }
        other => panic!("dpo waits for a second administrator: {other:?}"),
    };
    forbidden("the requester decides", app.decide_grant(&ada, grant.id, true).await);
    forbidden("the grantee decides", app.decide_grant(&ray, grant.id, true).await);
    let decided = app.decide_grant(&bob, grant.id, true).await.unwrap();
    assert_eq!((decided.status.as_str(), decided.decided_by.as_str()), ("approved", "bob"));
    assert_eq!(app.user("ray").await.unwrap().role, Role::Dpo);
    assert!(app.authenticate(&ray.token, CLIENT).await.is_err(), "the new role starts with a new sign-in");
    assert!(matches!(app.decide_grant(&bob, grant.id, false).await, Err(CoreError::Conflict(_))), "decided once");
    assert_eq!(app.user("ray").await.unwrap().role, Role::Dpo);
    let trail = admin_trail(fx).await;
    assert!(trail.contains(&("ada".into(), "user.grant.request".into())), "{trail:?}");
    assert!(trail.contains(&("bob".into(), "user.grant.approve".into())), "{trail:?}");
}
