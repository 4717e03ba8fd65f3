//! Slack tokens and webhook URLs.
//!
//! The prefix says whose power the token carries: `xoxb-` a bot, `xoxp-` the user who installed
//! the app (every channel and DM they can see), `xapp-` app-level (Socket Mode), `xoxe.`-prefixed
//! tokens are rotating 12-hour tokens, `xoxe-` is the refresh token that mints them. Numeric
//! segments are workspace and user ids (community-observed, stable for a decade), and an
//! incoming webhook URL names its workspace (`T…`) and hook (`B…`) while posting to one channel.

use super::util::put;
use super::{Facts, Privilege};
use crate::rules::{Lifetime, Scope};

/// Decodes the first Slack token or webhook URL found in `secret`.
pub fn decode(secret: &str) -> Facts {
    let mut facts = Facts::default();
    if let Some(pos) = secret.find("hooks.slack.com/") {
        let path = super::util::run_from(secret, pos + "hooks.slack.com/".len(), |c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+')
        });
        webhook(path, &mut facts);
        return facts;
    }
    let Some(start) = secret.find("xox").or_else(|| secret.find("xapp-")) else {
        return facts;
    };
    let token = super::util::run_from(secret, start, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '.')
    });
    let segs: Vec<&str> = token.split('-').collect();
    let numeric = |i: usize| segs.get(i).copied().filter(|s| is_id_number(s));
    match segs.first().copied().unwrap_or("") {
        "xoxb" => {
            facts.kind = Some("Slack bot token".into());
            facts.lifetime = Some(Lifetime::Never);
            if let Some(team) = numeric(1) {
                put(&mut facts, "team", team);
            }
            if let Some(bot) = numeric(2) {
                put(&mut facts, "bot_user", bot);
            }
        }
        "xoxp" => {
            facts.kind = Some("Slack user token".into());
            facts.lifetime = Some(Lifetime::Never);
            if let Some(team) = numeric(1) {
                put(&mut facts, "team", team);
            }
            if let Some(user) = numeric(2) {
                put(&mut facts, "user", user);
            }
        }
        "xapp" => {
            facts.kind = Some("Slack app-level token".into());
            facts.lifetime = Some(Lifetime::Never);
            if let Some(app) = segs.get(2).filter(|s| s.starts_with('A') && s.len() > 1) {
                put(&mut facts, "app_id", app);
            }
        }
        "xoxe.xoxb" => {
            facts.kind = Some("Slack rotating bot token".into());
            facts.lifetime = Some(Lifetime::Short);
        }
        "xoxe.xoxp" => {
            // Also the format of app configuration tokens (App Manifest API), 12 h as well.
            facts.kind = Some("Slack rotating user token or app configuration token".into());
            facts.lifetime = Some(Lifetime::Short);
        }
        "xoxe" => {
            facts.kind = Some("Slack refresh token (single use)".into());
            facts.mints = Some(true);
        }
        "xoxr" => {
            facts.kind = Some("Slack legacy workspace-app refresh token".into());
            facts.mints = Some(true);
        }
        "xoxa" => facts.kind = Some("Slack legacy workspace-app token".into()),
        "xoxs" => facts.kind = Some("Slack session token".into()),
        "xoxo" => facts.kind = Some("Slack legacy token".into()),
        _ => return facts,
    }
    facts.decoded = segs.len() >= 2 && segs.iter().skip(1).all(|s| !s.is_empty());
    if !facts.decoded {
        return Facts::default();
    }
    facts
}

fn is_id_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `services/T…/B…/<secret>` (incoming webhook) or `workflows|triggers/T…/…` (Workflow Builder).
fn webhook(path: &str, facts: &mut Facts) {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_id = |s: &&str, first: char| {
        s.starts_with(first) && s.len() >= 7 && s.chars().all(|c| c.is_ascii_alphanumeric())
    };
    match segs.as_slice() {
        ["services", team, hook, secret, ..]
            if is_id(team, 'T') && is_id(hook, 'B') && !secret.is_empty() =>
        {
            facts.kind = Some("Slack incoming webhook".into());
            put(facts, "team", team);
            put(facts, "webhook_id", hook);
        }
        [kind @ ("workflows" | "triggers"), team, rest @ ..]
            if is_id(team, 'T') && !rest.is_empty() =>
        {
            facts.kind = Some(format!("Slack Workflow Builder webhook ({kind})"));
            put(facts, "team", team);
        }
        _ => return,
    }
    facts.decoded = true;
    facts.scope = Some(Scope::SingleResource);
    facts.privilege = Some(Privilege::Write);
    facts.lifetime = Some(Lifetime::Never);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field<'a>(f: &'a Facts, k: &str) -> Option<&'a str> {
        f.fields.get(k).map(String::as_str)
    }

    #[test]
    fn bot_and_user_tokens() {
        let f = decode("SLACK_BOT_TOKEN=xoxb-1111111111-2222222222222-FAKEfakeFAKEfakeFAKEfake");
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("Slack bot token"));
        assert_eq!(f.lifetime, Some(Lifetime::Never));
        assert_eq!(field(&f, "team"), Some("1111111111"));
        assert_eq!(field(&f, "bot_user"), Some("2222222222222"));

        let f = decode("xoxp-1111111111-3333333333-4444444444-00000000000000000000000000000000");
        assert_eq!(f.kind.as_deref(), Some("Slack user token"));
        assert_eq!(field(&f, "team"), Some("1111111111"));
        assert_eq!(field(&f, "user"), Some("3333333333"));
    }

    #[test]
    fn app_rotating_and_refresh_tokens() {
        let f = decode("xapp-1-A0123456789-1234567890123-00000000000000000000");
        assert_eq!(f.kind.as_deref(), Some("Slack app-level token"));
        assert_eq!(field(&f, "app_id"), Some("A0123456789"));

        let f = decode("xoxe.xoxp-1-FAKE0000000000000000");
        assert_eq!(f.lifetime, Some(Lifetime::Short));
        let f = decode("xoxe.xoxb-1-FAKE0000000000000000");
        assert_eq!(f.kind.as_deref(), Some("Slack rotating bot token"));
        assert_eq!(f.lifetime, Some(Lifetime::Short));

        let f = decode("xoxe-1-FAKE0000000000000000");
        assert_eq!(f.mints, Some(true));
        assert_eq!(f.kind.as_deref(), Some("Slack refresh token (single use)"));
    }

    #[test]
    fn legacy_tokens() {
        assert_eq!(decode("xoxr-FAKE00000000").mints, Some(true));
        assert!(decode("xoxs-1-2-3-abcdef").decoded);
        assert!(decode("xoxa-2-FAKE0000").decoded);
    }

    #[test]
    fn webhooks() {
        let f =
            decode("https://hooks.slack.com/services/T00000000/B00000000/FAKEFAKEFAKEFAKEFAKEFAKE");
        assert!(f.decoded);
        assert_eq!(f.kind.as_deref(), Some("Slack incoming webhook"));
        assert_eq!(f.scope, Some(Scope::SingleResource));
        assert_eq!(field(&f, "team"), Some("T00000000"));
        assert_eq!(field(&f, "webhook_id"), Some("B00000000"));
        assert!(f.fields.values().all(|v| !v.contains("FAKEFAKE")));

        let f = decode("https://hooks.slack.com/triggers/T00000000/1234567890/abcdef");
        assert_eq!(
            f.kind.as_deref(),
            Some("Slack Workflow Builder webhook (triggers)")
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "xoxb",
            "xoxb-",
            "xoxb--",
            "xoxz-1-2",
            "https://hooks.slack.com/services/",
            "https://hooks.slack.com/services/X0000000/B00000000/abc",
            "https://hooks.slack.com/services/T00000000/B00000000",
        ] {
            assert!(decode(bad).is_empty(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = decode(&s);
            let _ = decode(&format!("xoxb-{s}"));
            let _ = decode(&format!("hooks.slack.com/{s}"));
        }
    }
}
