from controlroom.core.convergence import Weight, converge, fingerprint, normalise_snippet
from controlroom.core.model import Finding, Severity


def finding(
    agent="critic", rule="S307", line=3, snippet="    eval(x)", symbol="run", **kw
) -> Finding:
    return Finding(
        agent=agent,
        rule=rule,
        severity=kw.pop("severity", Severity.HIGH),
        path=kw.pop("path", "app.py"),
        line=line,
        message=kw.pop("message", "use of eval"),
        symbol=symbol,
        snippet=snippet,
        confidence=kw.pop("confidence", 0.6),
        **kw,
    )


def test_fingerprint_survives_line_moves_and_reindentation():
    assert fingerprint(finding(line=3)) == fingerprint(finding(line=40, snippet="eval(x)   "))
    assert fingerprint(finding(snippet="eval(x)  # noqa later")) == fingerprint(finding())


def test_fingerprint_changes_with_rule_path_symbol_or_code():
    base = fingerprint(finding())
    assert fingerprint(finding(rule="S102")) != base
    assert fingerprint(finding(path="other.py")) != base
    assert fingerprint(finding(symbol="other")) != base
    assert fingerprint(finding(snippet="eval(y)")) != base


def test_normalise_snippet():
    assert normalise_snippet("   a  =   b   # c") == "a = b"


def test_duplicates_merge_into_one_candidate():
    [only] = converge([finding(), finding(line=9)])
    assert len(only.findings) == 2 and only.agents == ["critic"]
    assert not only.consensus


def test_two_agents_on_one_fingerprint_is_high_confidence():
    [only] = converge([finding(agent="critic"), finding(agent="impact", confidence=0.4)])
    assert only.consensus and only.confidence >= 0.9
    assert only.agents == ["critic", "impact"]
    assert "critic + impact agree" in only.confidence_reason


def test_two_agents_on_one_symbol_is_consensus_too():
    items = converge(
        [finding(agent="critic"), finding(agent="docs", rule="DOC101", snippet="def run():")]
    )
    assert all(c.consensus for c in items)
    assert all(c.confidence >= 0.8 for c in items)
    assert all("consensus on run" in c.confidence_reason for c in items)


def test_critical_means_review_now_and_sorts_first():
    items = converge(
        [
            finding(rule="T201", severity=Severity.LOW, snippet="print(x)", confidence=0.9),
            finding(severity=Severity.CRITICAL, confidence=0.3, symbol="other"),
        ]
    )
    assert items[0].review_now and items[0].severity is Severity.CRITICAL
    assert "review now" in items[0].confidence_reason
    assert not items[1].review_now


def test_single_agent_keeps_its_own_confidence():
    [only] = converge([finding(confidence=0.55)])
    assert only.confidence == 0.55
    assert only.confidence_reason == "critic confidence"


def test_learned_weights_move_confidence_both_ways():
    [neutral] = converge([finding()])
    [liked] = converge([finding()], {("critic", "S307"): Weight(approved=9, rejected=0)})
    [disliked] = converge([finding()], {("critic", "S307"): Weight(approved=0, rejected=9)})
    assert disliked.confidence < neutral.confidence < liked.confidence
    assert "learned from 9 approved / 0 rejected" in liked.confidence_reason
    assert disliked.priority <= neutral.priority <= liked.priority


def test_confidence_stays_in_unit_interval():
    [only] = converge([finding(confidence=1.0)], {("critic", "S307"): Weight(approved=100)})
    assert 0.0 <= only.confidence <= 1.0
