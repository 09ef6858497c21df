use super::*;

fn at(now: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
    Some(now + chrono::Duration::seconds(secs))
}

/// A budget of `limit` with `remaining` left and `used` used, resetting in `reset_in` seconds.
fn b(now: DateTime<Utc>, limit: i64, remaining: i64, used: i64, reset_in: i64) -> Option<Budget> {
    Some(Budget { limit, remaining, used: Some(used), reset_at: at(now, reset_in) })
}

#[test]
fn requests_stay_on_a_credential_until_it_is_spent() {
    let now = Utc::now();
    let held = |reset_in: i64, reserve_held: bool| {
        Err(AllSpent { reset_at: now + chrono::Duration::seconds(reset_in), reserve_held })
    };
    // (budgets, the lane in use, reserve, the lane chosen)
    type Case = (Vec<Option<Budget>>, usize, i64, Result<usize, AllSpent>);
    let cases: Vec<Case> = vec![
        (vec![None], 0, 0, Ok(0)),
        (vec![b(now, 20, 5, 15, 60), None, None], 0, 0, Ok(0)),
        (vec![b(now, 20, 0, 20, 60), None, None], 0, 0, Ok(1)),
        (vec![b(now, 20, 0, 20, 60), b(now, 20, 0, 20, 90), None], 1, 0, Ok(2)),
        // a window that passed is a whole budget again, but the lane in use goes on
        (vec![b(now, 20, 0, 20, -1), b(now, 20, 0, 20, 90), b(now, 20, 3, 17, 90)], 2, 0, Ok(2)),
        (vec![b(now, 20, 0, 20, -1), b(now, 20, 0, 20, 90), b(now, 20, 0, 20, 90)], 2, 0, Ok(0)),
        // all spent: the earliest reset
        (vec![b(now, 20, 0, 20, 90), b(now, 20, 0, 20, 30)], 1, 0, held(30, false)),
        // the reserve counts as spent
        (vec![b(now, 40, 20, 20, 60)], 0, 20, held(60, true)),
        (vec![b(now, 40, 21, 19, 60)], 0, 20, Ok(0)),
        (vec![b(now, 40, 20, 20, 60), b(now, 40, 35, 5, 60)], 0, 20, Ok(1)),
        // a spent budget without a reset says nothing about when
        (vec![Some(Budget { limit: 5, remaining: 0, used: None, reset_at: None })], 0, 0, Ok(0)),
    ];
    for (i, (budgets, from, reserve, want)) in cases.into_iter().enumerate() {
        assert_eq!(choose(&budgets, from, reserve, now), want, "case {i}: {budgets:?}");
    }
}

#[test]
fn one_account_is_told_by_its_window_and_its_use() {
    let now = Utc::now();
    let spent = b(now, 20, 0, 20, 60).unwrap_or_else(|| unreachable!());
    // (the next token's first answer, the same account)
    let cases = [
        (b(now, 20, 0, 20, 60), true),
        (b(now, 20, 0, 21, 60), true),
        // a fresh account whose window began in the same second
        (b(now, 20, 19, 1, 60), false),
        (b(now, 20, 0, 20, 61), false),
        (b(now, 5_000, 0, 5_000, 60), false),
        (Some(Budget { used: None, ..spent }), false),
    ];
    for (first, want) in cases {
        let first = first.unwrap_or_else(|| unreachable!());
        assert_eq!(same_account(spent, first), want, "{first:?}");
    }
}

#[tokio::test]
async fn a_shared_account_is_told_only_when_requests_move() {
    let now = Utc::now();
    let tokens: Vec<Credential> =
        ["ghp_first_token_0000000001", "ghp_second_token_000000002"].iter().map(|t| Credential::token(t)).collect();
    let spent = b(now, 20, 0, 20, 60).unwrap_or_else(|| unreachable!());
    // (the second token's first answer, whether requests moved to it, the first token named)
    let cases = [
        (b(now, 20, 0, 20, 60), true, Some(0)),
        (b(now, 20, 19, 1, 60), true, None),
        // the same numbers, but no move (the free check of each token)
        (b(now, 20, 0, 20, 60), false, None),
    ];
    for (answer, moved, want) in cases {
        let pacer = || Pacer::new(std::time::Duration::ZERO, 2_000, false);
        let lanes = Lanes::new("http://127.0.0.1:9/graphql", "http://127.0.0.1:9", &tokens, 0, pacer)
            .unwrap_or_else(|e| panic!("{e}"));
        lanes.record(0, spent, now);
        if moved {
            assert_eq!(lanes.pick(now), Ok(Pick { lane: 1, left: Some(0) }));
        }
        let answer = answer.unwrap_or_else(|| unreachable!());
        assert_eq!(lanes.record(1, answer, now).1, want, "{answer:?}, moved: {moved}");
        assert_eq!(lanes.spent_until(1, now).is_some(), answer.remaining == 0, "twins are spent together");
    }
}

#[test]
fn a_chunk_is_planned_on_the_whole_pools_budget() {
    let now = Utc::now();
    let whole = |limit: i64, remaining: i64, reset_in: Option<i64>, reserve: i64| {
        Some(Headroom {
            budget: Budget { limit, remaining, used: None, reset_at: reset_in.and_then(|s| at(now, s)) },
            reserve,
        })
    };
    // (budgets, reserve, headroom)
    let cases: Vec<(Vec<Option<Budget>>, i64, Option<Headroom>)> = vec![
        (vec![None, None], 0, None),
        // one credential: its own budget, `used` and all
        (
            vec![b(now, 5_000, 4_000, 1_000, 60)],
            0,
            Some(Headroom { budget: b(now, 5_000, 4_000, 1_000, 60).unwrap_or_else(|| unreachable!()), reserve: 0 }),
        ),
        // a spent one counts nothing; one not seen yet, a whole hour like the others
        (vec![b(now, 20, 0, 20, 60), b(now, 20, 12, 8, 90), None], 0, whole(40, 32, Some(60), 0)),
        // a window that passed: whole again
        (vec![b(now, 20, 0, 20, -5), b(now, 20, 0, 20, 90)], 0, whole(20, 20, Some(90), 0)),
        // all spent: theirs, nothing spendable, the earliest reset
        (vec![b(now, 20, 0, 20, 60), b(now, 20, 0, 20, 30)], 0, whole(40, 0, Some(30), 0)),
        // a reserve per credential counted
        (vec![b(now, 40, 30, 10, 60), b(now, 40, 35, 5, 60)], 20, whole(80, 65, Some(60), 40)),
        (
            vec![b(now, 40, 30, 10, 60), b(now, 40, 20, 20, 60)],
            20,
            whole(40, 30, Some(60), 20).map(|h| Headroom { budget: Budget { used: Some(10), ..h.budget }, ..h }),
        ),
    ];
    for (i, (budgets, reserve, want)) in cases.into_iter().enumerate() {
        assert_eq!(headroom(&budgets, reserve, now), want, "case {i}: {budgets:?}");
    }
    assert_eq!(whole(40, 30, None, 20).map(|h| h.spendable()), Some(10));
    assert_eq!(whole(40, 10, None, 20).map(|h| h.spendable()), Some(0));
}
