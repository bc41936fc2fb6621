"""How long a search may be: one limit for every place that reads a search `q` — the task
list (web and API), 知识库 (web and API), the people pickers and the admin's people search.

Why a limit at all: a search travels in the address (a GET form), and a very long one (a
paste of a whole document, over ~4 KB) never reached Django — the front server answered its
own HTML 414 — while nobody searches with more than a sentence. So every search box carries
`maxlength`; a page cuts a longer `q` typed into the address and says so; the API refuses it
with a 422 naming `q` (pydantic's `string_too_long`, said in the reader's language by
`core.api_schemas.validation_message`)."""

# Characters (not bytes): 200 CJK characters are ~1,800 bytes once percent-encoded, well
# inside the front server's 4 KB request line with the other filters beside them.
SEARCH_MAX = 200


def cut_search(text: str) -> tuple[str, bool]:
    """`text` as a search reads it: its first SEARCH_MAX characters, and whether it was
    longer (the page then says it searched for the beginning only)."""
    text = text or ""
    return text[:SEARCH_MAX], len(text) > SEARCH_MAX
