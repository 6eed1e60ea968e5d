"""The keys each kind of content document may have, each with its one line of help.

This table is the one home of the content format's keys: the loader checks documents
against the key sets; the policy workspace shows the help beside the file being edited and
beside a problem about a key; docs/rules-format.md's 「キーの説明」 tables are checked
against it (tests/engine/test_rules_format_doc.py). Help is Japanese, for policy staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Kind:
    """One kind of content mapping: its Japanese name and each key's one line of help."""

    name: str
    title: str
    keys: dict[str, str]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in [
        Kind("municipality", "市の設定（municipality.yaml の municipality:）", {
            "name": "市区町村の名前（例: みどり市）。書類に印字します",
            "code": "全国地方公共団体コード 6 桁（検査数字つき）。\"132241\" のように引用符で囲みます",
            "prefecture": "都道府県の名前",
            "address": "庁舎の所在地。表紙に印字します",
            "phone": "代表電話番号",
            "departments": "課の一覧（id・名前・階・窓口）",
            "options": "市ごとの扱い。式の中で muni.<名前> として読みます（はい/いいえ・数・文字）",
            "closed_days": "閉庁日（休日条例）。届出期限が閉庁日に当たるときの繰り延べに使います",
        }),
        Kind("closed_days", "閉庁日（closed_days:）", {
            "calendar": "土日・国民の祝日の暦。japan だけが使えます",
            "year_end": "年末年始の休み（from と to を \"12-29\" のように月-日で）",
            "extra": "ほかに条例が定める閉庁日の一覧（年-月-日）",
            "basis": "根拠の条例の名前と条",
        }),
        Kind("year_end", "年末年始（year_end:）", {
            "from": "休みの初日（月-日。例: \"12-29\"）",
            "to": "休みの最後の日（月-日。例: \"01-03\"）",
        }),
        Kind("department", "課（departments: の各項目）", {
            "id": "課の id（英小文字）。手続と帳票の department: に書きます",
            "name": "課の名前（例: 保険年金課）",
            "floor": "課のある階（数）。表紙の道順に使います",
            "counter": "窓口の番号（例: \"5番\"）",
        }),
        Kind("role", "役割（roles.yaml の各項目）", {
            "id": "役割の id（例: deceased）。式で 'deceased' in p.roles のように使います",
            "label": "役割の名前（例: 故人）。聞き取り画面に出ます",
            "single": "true: 世帯で一人だけ（式で deceased.age と書けます）",
        }),
        Kind("fact", "事実（facts/*.yaml の各項目）", {
            "id": "事実の id。案件の事実は グループ.名前、人の事実は名前だけ",
            "per": "case（案件に一つ。省略時）か person（世帯の一人ずつ）",
            "type": "値の型（text・date・money・choice など）",
            "label": "聞き取り画面の質問・項目名",
            "help": "質問の下に出す説明",
            "sensitivity": "normal（省略時）・personal・special（要配慮個人情報）",
            "validation": "値の検査（min・max・pattern・message・min_length・max_length）",
            "choices": "選択肢 {キー: 表示名}。choice では必須",
            "derive": "ほかの事実から計算する式。書くと質問しません",
            "ask": "false: 質問しない（住民記録や読み取りで入る）",
        }),
        Kind("validation", "値の検査（validation:）", {
            "min": "最小値（数。日付なら日付か today）",
            "max": "最大値（数。日付なら日付か today）",
            "pattern": "文字全体が合うべき正規表現",
            "message": "pattern に合わないときに出す説明",
            "min_length": "最も短い文字数",
            "max_length": "最も長い文字数",
        }),
        Kind("parameter", "パラメータ（parameters.yaml の各項目）", {
            "id": "パラメータの id。式で param.<id> として読みます",
            "label": "パラメータの名前（例: 国民健康保険 葬祭費の額）",
            "type": "値の型（money・integer・number・text・boolean・date）",
            "legal_basis": "根拠の法令（law: laws.yaml の id、article: 条）",
            "values": "日付つきの値の一覧（期間は重ねません）",
        }),
        Kind("param_value", "パラメータの値（values: の各項目）", {
            "valid_from": "この日の申請から使う値（年-月-日）",
            "valid_until": "この日の申請まで使う値（年-月-日。省略: 終わりなし）",
            "value": "値（金額は円で、数字だけ）",
        }),
        Kind("event", "ライフイベント（events.yaml の各項目）", {
            "id": "ライフイベントの id（例: death）",
            "title": "受付画面に出す名前（例: 死亡（おくやみ））",
            "asks": "このイベントでいつも聞く事実（式の一覧）",
        }),
        Kind("procedure", "手続（procedures/*.yaml の各項目）", {
            "id": "手続の id（英小文字と _）。シナリオテストで使います",
            "title": "手続の名前。窓口と表紙に出ます",
            "events": "この手続が関わるライフイベントの一覧（省略: すべて）",
            "department": "担当の課の id（municipality.yaml の departments）",
            "legal_basis": "根拠の法令（law: laws.yaml の id、article: 条）",
            "valid_from": "この日の申請から手続がある（年-月-日）",
            "valid_until": "この日の申請まで手続がある（年-月-日）",
            "applies_when": "手続が当たる条件の式（省略: イベントだけで当たる）",
            "reason": "なぜこの事案に当たるのか、窓口で読み上げる文（必須）",
            "plain": "住民向けのやさしい日本語の説明（必須）",
            "for_each": "\"p in household: 条件\" — 条件に合う人ごとに一件",
            "deadline": "期限（from・years/months/days・start・rolls_over・label）",
            "forms": "作る帳票の id の一覧",
            "automatic": "true: 帳票なしで自動的に済む（note に説明を書きます）",
            "note": "automatic の手続で職員に見せる説明",
            "bring": "住民が持ってくる物の一覧",
            "urgent": "今日のうちにしなければならない理由。「本日中に」として先に出ます",
            "guidance": "ご案内のみの届出先（例: 年金事務所）。この窓口では何も出さず、行き先を案内します",
        }),
        Kind("law", "法令（laws.yaml の各項目）", {
            "name": "法令名。職員に見せ、書類に印字します",
            "number": "法令番号（例: 昭和33年法律第192号）",
            "url": "e-Gov 法令検索のページ（https:// で始めます）",
        }),
        Kind("legal_basis", "根拠（legal_basis:）", {
            "law": "laws.yaml の法令の id（必須）",
            "article": "条・項（例: 第58条）",
        }),
        Kind("deadline", "期限（deadline:）", {
            "from": "数え始める日の式（足し算はせず、期間は years/months/days に）",
            "years": "期間の年数（民法第143条で数えます）",
            "months": "期間の月数（民法第143条で数えます）",
            "days": "期間の日数",
            "start": "day_after（初日不算入、民法第140条）か same_day（その日を含める）",
            "rolls_over": "true: 閉庁日に終わる届出期間は次の開庁日まで／false: 時効など",
            "why": "条文の言い方と、繰り延べる・繰り延べない理由",
            "label": "職員と住民が読む期限の言い方",
        }),
        Kind("form", "帳票（form_definitions/<id>.yaml の form:）", {
            "id": "帳票の id。ファイル名と同じにします",
            "title": "帳票の名前（例: 国民健康保険被保険者資格喪失届）",
            "department": "提出先の課の id",
            "template": "ひな形のフォルダ名（pdf_templates/<template>/）",
            "per_person": "\"p in household: 条件\" — 条件に合う人ごとに一枚（null: 一枚）",
            "audience": "署名する人・受け取る人の条件（支援措置の住所の伏せ方に使います）",
            "fields": "記入欄の一覧（id・label・value・format・required）",
            "rows": "人ごとの行がある表の一覧",
        }),
        Kind("field", "記入欄（fields: の各項目）", {
            "id": "記入欄の id（ひな形で使います）",
            "label": "記入欄の名前（住民の確認画面に出ます）",
            "value": "値の式（事実から埋めます。必須）",
            "format": "印字の形（wareki・yen・checkbox など。省略: text）",
            "required": "true: 値が分からないと帳票が未完成になります",
        }),
        Kind("row", "表（rows: の各項目）", {
            "id": "表の id（ひな形で使います）",
            "label": "表の名前",
            "for_each": "\"p in household: 条件\" — 条件に合う人ごとに一行",
            "max": "紙の帳票にある行の数（超えると警告）",
            "fields": "各行の記入欄の一覧",
        }),
        Kind("scenario", "シナリオテスト（scenarios/*.yaml の各項目）", {
            "name": "テストの名前（どんな事案か）",
            "as_of": "申請日（年-月-日）",
            "facts": "事案の事実 {事実の id: 値}",
            "expect": "出てくるべき結果（procedures・undecided・fields・deadlines・departments）",
        }),
        Kind("expect", "期待する結果（expect:）", {
            "procedures": "当たるべき手続の一覧（ちょうどこの組）",
            "undecided": "判定待ちになるべき手続の一覧",
            "fields": "印字されるべき値 {帳票.記入欄: 値}",
            "deadlines": "期限の日付 {手続: 年-月-日}",
            "departments": "担当の課 {手続: 課の id}",
        }),
    ]
}  # fmt: skip

MUNICIPALITY_KEYS = set(KINDS["municipality"].keys)
CLOSED_DAYS_KEYS = set(KINDS["closed_days"].keys)
YEAR_END_KEYS = set(KINDS["year_end"].keys)
CALENDARS = {"japan"}
DEPARTMENT_KEYS = set(KINDS["department"].keys)
ROLE_KEYS = set(KINDS["role"].keys)
FACT_KEYS = set(KINDS["fact"].keys)
VALIDATION_KEYS = set(KINDS["validation"].keys)
PARAMETER_KEYS = set(KINDS["parameter"].keys)
PARAM_VALUE_KEYS = set(KINDS["param_value"].keys)
EVENT_KEYS = set(KINDS["event"].keys)
PROCEDURE_KEYS = set(KINDS["procedure"].keys)
LAW_KEYS = set(KINDS["law"].keys)
LEGAL_KEYS = set(KINDS["legal_basis"].keys)
DEADLINE_KEYS = set(KINDS["deadline"].keys)
DEADLINE_STARTS = {"day_after", "same_day"}
FORM_KEYS = set(KINDS["form"].keys)
FIELD_KEYS = set(KINDS["field"].keys)
ROW_KEYS = set(KINDS["row"].keys)
SCENARIO_KEYS = set(KINDS["scenario"].keys)
EXPECT_KEYS = set(KINDS["expect"].keys)

# Which kinds a file of a rule set holds, by its path (the first pattern that matches).
FILE_KINDS: list[tuple[str, tuple[str, ...]]] = [
    ("procedure_rules/municipality.yaml", ("municipality", "department", "closed_days", "year_end")),
    ("procedure_rules/roles.yaml", ("role",)),
    ("procedure_rules/events.yaml", ("event",)),
    ("procedure_rules/laws.yaml", ("law",)),
    ("procedure_rules/parameters.yaml", ("parameter", "param_value", "legal_basis")),
    ("procedure_rules/facts/*.yaml", ("fact", "validation")),
    ("procedure_rules/procedures/*.yaml", ("procedure", "legal_basis", "deadline")),
    ("procedure_rules/scenarios/*.yaml", ("scenario", "expect")),
    ("form_definitions/*.yaml", ("form", "field", "row")),
]  # fmt: skip


def kinds_of_file(name: str) -> list[Kind]:
    """Return the kinds a rule-set file holds, by its path relative to the rule set."""
    for pattern, kinds in FILE_KINDS:
        if fnmatchcase(name, pattern) and "/" not in name[len(pattern.split("*")[0]) :]:
            return [KINDS[k] for k in kinds]
    return []

# How long a typed value may be. A declaration's ``validation: {max_length: N}`` is the real
# form's box (氏名 40, 本籍 80, …); a fact without one takes its type's default here. Without
# a bound a 300,000-character address was accepted and its packet PDF took 47 s to lay out
# (issue #18, Medium 7). Addresses default to 80 characters, as the pre-entry QR
# (app/scanning/preentry.py) and the 本籍・所在地 facts already do: two lines of a 住民異動届
# address box.
TEXT_MAX_LENGTH = {"text": 100, "address": 80, "kana": 60}
# No declaration may raise a box above this (a rule file is not a way round the limit).
TEXT_MAX_LENGTH_CEILING = 400
# A list fact (続柄・届出の事由 …) holds at most this many items, each at most this long.
LIST_MAX_ITEMS = 30
LIST_ITEM_MAX_LENGTH = 100
# The parts of a 振込先口座 (口座番号 is checked as 7 digits on its own).
BANK_PART_MAX_LENGTH = {"bank": 30, "branch": 30, "kind": 4, "holder": 60}
# Whole numbers (人数・金額・身長 …): 15 digits is 999兆円; a longer number is a typing
# error, and Python refuses to read one over 4,300 digits at all.
INTEGER_MAX_DIGITS = 15
