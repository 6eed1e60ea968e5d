"""Counter view of a case's audit trail: every read, change and status move, in Japanese:
facts by label (whose, what), values as words, actions named, hashes folded away."""

from __future__ import annotations

from typing import Any

from flask import render_template

from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import case_or_404, ruleset
from app.counter.workspace import person_title
from app.engine import RuleSet
from app.models.case import PROVENANCE_LABELS, STATUS_LABELS
from app.services.cases import (
    StoredFact,
    audit_detail,
    audit_events,
    fact_history,
    stored_facts,
)
from app.services.interview import display_value, split_fact_id

ACTION_LABELS = {
    "case_opened": "受付を開始",
    "case_viewed": "聞き取り画面を表示",
    "status": "状態を変更",
    "registry_import": "住民記録から取り込み",
    "scan": "QRコード・バーコードを読み取り",
    "scan_confirmed": "読み取った内容を取り込み",
    "card_requested": "カードの読み取りを依頼",
    "card_read": "カードを読み取り",
    "card_read_failed": "カードを読み取れなかった",
    "card_confirmed": "カードの内容を取り込み",
    "card_message_refused": "読取端末からの通知を拒否",
    "zairyu_app_checked": "在留カード等を読取アプリで確認",
    "my_number_shown": "個人番号を表示",
    "attachment_added": "書類を撮影して添付",
    "attachment_viewed": "撮影した書類を表示",
    "cover_viewed": "受付案内票を表示",
    "document_viewed": "書類を表示",
    "document_printed": "書類を印刷",
    "packet_viewed": "書類一式を表示",
    "join_link_issued": "参加リンクと暗証番号を発行",
    "join_pin_wrong": "暗証番号の誤り",
    "resident_joined": "住民が画面に参加",
    "kiosk_attached": "キオスク端末を接続",
    "kiosk_detached": "キオスク端末の接続を解除",
    "form_confirmed": "住民が書類を確認",
    "correction_requested": "住民が訂正を依頼",
    "correction_resolved": "訂正の依頼に対応",
    "signed_electronically": "住民が電子署名",
    "signed_packet_downloaded": "署名済みの書類一式を取得",
    "booking_made": "予約を受付",
    "booking_opened": "予約から受付を開始",
    "routed": "各課に回付",
    "procedure_done": "手続を処理済みにした",
    "purged": "保存期間の経過により住民の情報を削除",
    "ruleset_case_compared": "ルール改定の影響を確認",
    "ruleset_impact_cases_read": "ルール改定の影響を受ける案件を閲覧",
}
DETAIL_LABELS = {
    "events": "ライフイベント",
    "channel": "受付の方法",
    "facts": "項目",
    "from": "変更前",
    "to": "変更後",
    "reason": "理由",
    "provenance": "出所",
    "route": "読み取り方法",
    "agent": "読取端末",
    "form": "書類",
    "field": "欄",
    "procedure": "手続",
    "procedures": "手続の数",
    "number": "番号",
    "via": "参加の方法",
    "kiosk": "キオスク端末",
    "failed": "誤りの回数",
    "failure": "理由",
    "expires_at": "有効期限",
    "request": "依頼番号",
    "kinds": "読み取ったもの",
    "errors": "読み取れなかった理由",
    "hits": "該当",
    "field_sources": "書類の欄の出所",
    "booking": "予約番号",
    "event": "ライフイベント",
    "shien_sochi": "支援措置（住所を伏せた）",
}
HASHES = frozenset({"hash", "sha256", "digest"})  # shown folded: for checking, not reading
CHANNEL_LABELS = {
    "counter": "窓口",
    "kiosk": "支所キオスク",
    "remote": "リモート",
    "link": "参加リンク",
}


def fact_label(rules: RuleSet, fact_id: str, facts: dict[str, StoredFact]) -> str:
    """Return whose fact and what it is (世帯員2 山田 花子の電話番号), never the fact id."""
    index, name = split_fact_id(fact_id)
    fact = rules.facts.get(name)
    label = "役割" if name == "roles" else (fact.label if fact is not None else name)
    if index is None:
        return label
    return f"{person_title(rules, index, facts)[0]}の{label}"


def fact_words(rules: RuleSet, fact_id: str, value: Any) -> str:
    """Return a stored value as words: 和暦, はい/いいえ, choice labels; a My Number hidden."""
    if value is None:
        return "（なし）"
    if fact_id.endswith("my_number"):
        return "********"
    return display_value(rules, fact_id, value) or "（空欄）"


def _words(rules: RuleSet, key: str, value: Any, facts: dict[str, StoredFact]) -> str:
    if key == "facts" and isinstance(value, list):
        return "、".join(fact_label(rules, str(f), facts) for f in value)
    if key == "facts" and isinstance(value, int):
        return f"{value}件"
    if key in ("from", "to") and isinstance(value, str):
        return STATUS_LABELS.get(value, value)
    if key == "events" and isinstance(value, list):
        return "・".join(rules.events[e].title if e in rules.events else str(e) for e in value)
    if key in ("channel", "via"):
        return CHANNEL_LABELS.get(str(value), str(value))
    if key == "provenance":
        return PROVENANCE_LABELS.get(str(value), str(value))
    if key == "shien_sochi" and isinstance(value, dict):
        return _protection_words(rules, value, facts)
    if isinstance(value, dict):
        return (
            "、".join(f"{PROVENANCE_LABELS.get(str(k), str(k))} {v}" for k, v in value.items())
            or "（なし）"
        )
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if value is None or value == "":
        return "（なし）"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "（なし）"
    return str(value)


def _protection_words(rules: RuleSet, value: dict[str, Any], facts: dict[str, StoredFact]) -> str:
    """Say who is protected and what was hidden from this view (never the address itself)."""
    members = "・".join(f"{int(m) + 1}人目の世帯員" for m in value.get("members", []))
    hidden = "、".join(fact_label(rules, str(f), facts) for f in value.get("facts", []))
    masked = value.get("masked") or []
    return (
        f"対象: {members or '（なし）'}、伏せた項目: {hidden or '（なし）'}、"
        f"伏せた欄: {len(masked)}件"
    )


def event_rows(
    rules: RuleSet, events: list[Any], facts: dict[str, StoredFact]
) -> list[dict[str, Any]]:
    """Return each audit event with its action named and its details as (label, words)."""
    rows = []
    for ev in events:
        detail = audit_detail(ev)
        rows.append(
            {
                "at": ev.at,
                "actor": ev.actor,
                "action": ACTION_LABELS.get(ev.action, "その他の操作"),
                "details": [
                    (DETAIL_LABELS.get(k, k), _words(rules, k, v, facts))
                    for k, v in detail.items()
                    if k not in HASHES
                ],
                "hashes": [(k, str(v)) for k, v in detail.items() if k in HASHES],
                "code": ev.action,
            }
        )
    return rows


@bp.route("/cases/<int:case_id>/audit")
@allow("counter")
def audit_trail(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    facts = stored_facts(current)
    changes = [
        {
            **ch,
            "label": fact_label(rules, ch["fact_id"], facts),
            "old_words": fact_words(rules, ch["fact_id"], ch["old"]),
            "new_words": fact_words(rules, ch["fact_id"], ch["new"]),
        }
        for ch in fact_history(current)
    ]
    return render_template(
        "counter/audit.html",
        case=current,
        events=event_rows(rules, audit_events(current), facts),
        changes=changes,
    )
