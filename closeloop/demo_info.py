DEMO_USERS = [
    ("admin", "管理员 / admin"),
    ("ceo", "总公司负责人 / head of the company (superior of every department head)"),
    ("sales_head", "销售部负责人 / head of sales"),
    ("sales_manager", "销售部经理 / sales manager"),
    ("sales_specialist", "销售专员 / sales specialist"),
    ("marketing_head", "市场部负责人 / head of marketing"),
    ("marketing_specialist", "市场专员 / marketing specialist"),
    ("product_head", "产品部负责人 / head of product"),
    ("ops_head", "运营部负责人 / head of operations"),
    ("tech_head", "技术部负责人 / head of technology"),
]


def banner(url: str) -> str:
    lines = [
        "",
        "  Closeloop 闭环 is running:  " + url,
        "",
        "  Demo logins (password: closeloop-demo):",
    ]
    lines += [f"    {u:<22} {label}" for u, label in DEMO_USERS]
    lines += ["", "  Ctrl-C stops the web server and the worker.", ""]
    return "\n".join(lines)
