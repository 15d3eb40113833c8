"""The 数据质量 page masks ID numbers and shows Chinese only, whatever a table it reads holds."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dashboards.queries.quality import describe_failures, mask_frame, mask_ids

pytestmark = pytest.mark.unit

ID18 = "32058619850202234X"
ID15 = "320586850202234"


def test_mask_ids_18_and_15_digits_and_x():
    assert mask_ids(ID18) == "3205**********234X"
    assert mask_ids(ID15) == "3205*******2234"
    assert mask_ids(f"值为“{ID18}”，另见{ID15}。") == "值为“3205**********234X”，另见3205*******2234。"
    # not ID numbers: a 16- or 20-digit run, a USCC with letters, a period, money
    for text in ("1234567890123456", "12345678901234567890", "91320594MA1TXT0010", "202503", "1234567.80"):
        assert mask_ids(text) == text


def test_mask_frame_blanks_none_and_keeps_numbers():
    df = pd.DataFrame({"值": [ID18, None, "2025-13"], "行数": [1, 2, 3]})
    out = mask_frame(df)
    assert list(out["值"]) == ["3205**********234X", "", "2025-13"]
    assert list(out["行数"]) == [1, 2, 3]


def test_gx_failures_described_in_chinese_with_masked_samples():
    labels = {"expect_column_values_to_be_valid_cn_id_number": "证件号码校验位正确"}
    raw = json.dumps(
        [
            {
                "expectation": "expect_column_values_to_be_valid_cn_id_number",
                "description": None,
                "unexpected_count": 2,
                "partial_unexpected_list": [ID18, ID15],
            },
            {"expectation": "expect_something_new", "unexpected_count": None},
        ]
    )
    text = describe_failures(raw, labels)
    assert text.startswith("证件号码校验位正确：2 行未通过（示例：") and text.endswith("；其他校验：未通过")
    masked = mask_frame(pd.DataFrame({"未通过详情": [text]}))["未通过详情"].iloc[0]
    assert ID18 not in masked and ID15 not in masked and "3205**********234X" in masked
    assert "{" not in masked and "expect_" not in masked and "None" not in masked
    assert describe_failures(None, labels) == "" and describe_failures("not json", labels) == "未通过详情无法解析"
