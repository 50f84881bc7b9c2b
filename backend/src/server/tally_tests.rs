//! The tally without sockets: seats, answers, the reveal and the next step, read from the two
//! published messages as a presenter's and a viewer's connection would get them.

use std::sync::Arc;

use serde_json::Value;
use shared::lesson::{self, Staged};

use super::*;

/// "First election": stop 0 asks (3 choices, S1 right), stop 1 reveals, stop 2 asks nothing.
fn first_election() -> Staged {
    let text = lesson::builtin("first-election").expect("built in");
    crate::server::lessons::stage_text(text).expect("stages")
}

/// The newest message a connection of that kind would be sent, as JSON (`None`: nothing yet).
fn newest(rx: &mut Published) -> Option<Value> {
    let text = rx.borrow_and_update().clone()?;
    Some(serde_json::from_str(&text).expect("JSON"))
}

#[test]
fn nothing_is_sent_before_a_question_and_seats_alone_say_nothing() {
    let p = Arc::new(Predictions::default());
    let (mut presenter, mut viewer) = (p.subscribe(true), p.subscribe(false));
    let _a = p.seat();
    p.lesson_at(None);
    assert_eq!(newest(&mut presenter), None);
    assert_eq!(newest(&mut viewer), None);
}

#[test]
fn viewers_answer_once_each_the_presenter_sees_it_live_and_the_reveal_closes_it() {
    let p = Arc::new(Predictions::default());
    let staged = first_election();
    let (mut presenter, mut viewer) = (p.subscribe(true), p.subscribe(false));
    let (a, b) = (p.seat(), p.seat());
    p.lesson_opened();
    p.lesson_at(Some((&staged, 0)));

    let shown = newest(&mut viewer).expect("viewers get the question");
    let q = &shown["prediction"];
    assert_eq!(q["text"], "Which server will become the first leader?");
    assert_eq!(q["open"], true);
    assert!(
        q.get("tally").is_none(),
        "viewers see no tally before the reveal"
    );
    assert!(q.get("answer").is_none(), "nor the answer");
    let id = q["question"].as_u64().unwrap();
    let tally = &newest(&mut presenter).unwrap()["prediction"]["tally"];
    assert_eq!(
        (tally["answered"].clone(), tally["viewers"].clone()),
        (0.into(), 2.into())
    );

    // One answer per connection, changeable: a's second answer replaces its first.
    a.answer(id, 0).expect("taken");
    a.answer(id, 2).expect("changed");
    let ok = b.answer(id, 2).expect("taken");
    assert!(ok.message.unwrap().contains("S3"));
    assert!(
        !viewer.has_changed().unwrap(),
        "answers do not wake viewers"
    );
    let tally = &newest(&mut presenter).unwrap()["prediction"]["tally"];
    assert_eq!(tally["counts"], serde_json::json!([0, 0, 2]));
    assert_eq!(tally["answered"], 2);

    // Refusals: an old question, a choice that does not exist.
    assert!(a.answer(id + 1, 0).unwrap_err().message.contains("over"));
    let e = a.answer(id, 3).unwrap_err();
    assert!(e.message.contains("no choice 3"), "{}", e.message);

    // A viewer who leaves takes its answer along.
    drop(b);
    let tally = &newest(&mut presenter).unwrap()["prediction"]["tally"];
    assert_eq!(
        (tally["answered"].clone(), tally["viewers"].clone()),
        (1.into(), 1.into())
    );

    // The reveal: viewers get the answer, the why and the tally; answers are closed.
    p.lesson_at(Some((&staged, 1)));
    let revealed = newest(&mut viewer).unwrap();
    let q = &revealed["prediction"];
    assert_eq!(
        (q["open"].clone(), q["answer"].clone()),
        (false.into(), 0.into())
    );
    assert_eq!(q["question"], id, "the same question");
    assert_eq!(q["tally"]["counts"], serde_json::json!([0, 0, 1]));
    assert!(q["why"].as_str().unwrap().contains("timer"));
    assert!(a.answer(id, 0).unwrap_err().message.contains("revealed"));

    // The next step asks nothing: the question and its answers are gone.
    p.lesson_at(Some((&staged, 2)));
    assert_eq!(newest(&mut viewer).unwrap()["prediction"], Value::Null);
    assert_eq!(newest(&mut presenter).unwrap()["prediction"], Value::Null);
    let e = a.answer(id, 0).unwrap_err();
    assert!(e.message.contains("no question"), "{}", e.message);
}

#[test]
fn back_to_the_question_keeps_its_answers_and_a_reopened_lesson_starts_afresh() {
    let p = Arc::new(Predictions::default());
    let staged = first_election();
    let mut presenter = p.subscribe(true);
    let a = p.seat();
    p.lesson_opened();
    p.lesson_at(Some((&staged, 0)));
    let id = newest(&mut presenter).unwrap()["prediction"]["question"]
        .as_u64()
        .unwrap();
    a.answer(id, 1).unwrap();
    p.lesson_at(Some((&staged, 1)));
    p.lesson_at(Some((&staged, 0)));
    let q = newest(&mut presenter).unwrap();
    assert_eq!(q["prediction"]["open"], true, "asked again");
    assert_eq!(q["prediction"]["tally"]["answered"], 1, "its answers stay");
    a.answer(id, 0).expect("open again");

    p.lesson_opened();
    p.lesson_at(Some((&staged, 0)));
    let q = newest(&mut presenter).unwrap();
    assert_ne!(q["prediction"]["question"], id, "a new question");
    assert_eq!(q["prediction"]["tally"]["answered"], 0);
}
