use super::*;
use crate::rules::RuleSet;

fn rule(id: &str) -> Rule {
    RuleSet::embedded().unwrap().get(id).unwrap().clone()
}

fn loc(path: &str, root: usize) -> Location {
    Location {
        path: path.into(),
        line: 1,
        column: 1,
        end_line: 1,
        end_column: 2,
        snippet: String::new(),
        root,
        root_name: format!("r{root}"),
        git: None,
        decoded: vec![],
        image: None,
    }
}

fn score(rule: &Rule, facts: &Facts, locs: &[Location]) -> f64 {
    assess(&Input {
        rule,
        facts,
        locations: locs,
        validated: false,
        companions: &[],
        typed_sequence: false,
        now: 1_800_000_000,
    })
    .score
}

#[test]
fn sprawl_and_ci_context_rank_higher() {
    let r = rule("github.pat.classic");
    let f = Facts::default();
    let one = score(&r, &f, &[loc("src/a.rs", 0)]);
    let five: Vec<Location> = (0..5).map(|i| loc(&format!("src/f{i}.rs"), 0)).collect();
    assert!(score(&r, &f, &five) > one);
    assert!(score(&r, &f, &[loc(".github/workflows/ci.yml", 0)]) > one);
    assert!(score(&r, &f, &[loc("tests/fixtures/a.rs", 0)]) < one);
}

#[test]
fn expiry_caps_the_score() {
    let r = rule("github.pat.classic");
    let live = Facts {
        expires_at: Some(1_900_000_000),
        ..Facts::default()
    };
    let dead = Facts {
        expires_at: Some(1_700_000_000),
        ..Facts::default()
    };
    let l = [loc("a", 0)];
    assert!(score(&r, &live, &l) > score(&r, &dead, &l));
    assert!(score(&r, &dead, &l) <= 2.0);
}

#[test]
fn levels_follow_github_bands() {
    assert_eq!(Level::from_score(9.0), Level::Critical);
    assert_eq!(Level::from_score(8.9), Level::High);
    assert_eq!(Level::from_score(4.0), Level::Medium);
    assert_eq!(Level::from_score(3.9), Level::Low);
}

#[test]
fn typed_sequence_ranks_low_but_is_reported() {
    let r = rule("github.pat.classic");
    let f = Facts::default();
    let l = [loc(".github/workflows/ci.yml", 0)];
    let seq = assess(&Input {
        rule: &r,
        facts: &f,
        locations: &l,
        validated: false,
        companions: &[],
        typed_sequence: true,
        now: 1_800_000_000,
    });
    assert!(seq.score <= 1.5, "{}", seq.score);
    assert_eq!(seq.level, Level::Low);
    assert!(
        seq.reasons
            .iter()
            .any(|r| r.detail.contains("typed sequence"))
    );
    assert!(score(&r, &f, &l) > 7.0);
}
