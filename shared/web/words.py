"""The words people read on the pages, in one place."""

STATUS_TEXT = {
    "registered": "已受理",
    "dispatched": "已派单",
    "escalated": "街道协调中",
    "claimed": "已接单",
    "responded": "已联系",
    "resolved": "已办结",
    "closed": "已结案",
    "reopened": "重新办理中",
}
SOURCE_TEXT = {"hotline": "12345热线", "grid": "网格上报"}
PRIORITY_TEXT = {"normal": "一般", "urgent": "紧急"}
