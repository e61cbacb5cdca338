from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from app.deps import ModelDep
from app.errors import API_ERRORS
from app.schemas import SearchOut
from app.services import search
from app.services.search import MAX_QUERY_CHARS, MAX_SEARCH_IDS

router = APIRouter(prefix="/api/models", tags=["search"], responses=API_ERRORS)

QUERY_HELP = (
    "Terms separated by spaces; an item must meet them all. `field=value` and `field!=value` "
    "(text: ignoring case), `field>x`, `field<x`, `field>=x`, `field<=x` (numbers), and a bare "
    "word: the item's name contains it, ignoring case. Double quotes keep spaces in a value: "
    '`colour="dark red"`. Fields: the metadata columns, the label field, `name`, `id` and '
    "`reconstruction_error` (with a decoder). An unknown field is 422 `unknown_field`; a query "
    "that cannot be read, an order comparison on a text field or a value that is not a number "
    "for a number field is 422 `bad_query`; both messages list the model's fields."
)


@router.get(
    "/{model}/search",
    summary="The items whose name and metadata match a query",
    description=QUERY_HELP,
)
async def search_items(
    m: ModelDep,
    q: str = Query(
        min_length=1, max_length=MAX_QUERY_CHARS, description="the query, e.g. `digit=3`"
    ),
    limit: int = Query(
        1000, ge=0, le=MAX_SEARCH_IDS, description=f"most ids listed, 0 to {MAX_SEARCH_IDS}"
    ),
    bitmap: bool = Query(False, description="also return every match as a bitmap"),
) -> SearchOut:
    found = await run_in_threadpool(lambda: search.search(m.searchable(), q))
    ids = found.ids(limit)
    return SearchOut(
        model=m.name,
        query=q,
        count=found.count,
        total=found.total,
        ids=ids,
        truncated=found.count > len(ids),
        bitmap=found.bitmap() if bitmap else None,
    )
