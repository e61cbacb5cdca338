"""Request and response bodies (pydantic). "models" in this project means PyTorch models only."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from models.embeddings import MAX_EMBEDDING_DIM

# The widest latent of any entry: imported embeddings (trained models stop at
# models.base.MAX_LATENT_DIM); a latent of the wrong length for its model is refused later.
MAX_LATENT = MAX_EMBEDDING_DIM

Latent = list[float]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefIn(Strict):
    """A place in latent space: give exactly one of ``id``, ``latent`` or ``point``."""

    # Strict: `true` or `"3"` is refused (422), not read as item 1 or 3.
    id: StrictInt | None = Field(None, ge=0, description="dataset item id", examples=[7])
    latent: Latent | None = Field(None, max_length=MAX_LATENT, description="latent vector")
    point: tuple[float, float] | None = Field(
        None, description="2D point on a projection; decoded through the index's inverse map"
    )
    projection: str | None = Field(
        None, max_length=32, description="projection of `point` (default umap)", examples=["umap"]
    )


class NeighboursOut(BaseModel):
    ids: list[int]
    distances: list[float]
    metric: str
    exact: bool = Field(
        True,
        description="false when the collection is past ann_min_items and an approximate index "
        "(recall@10 calibrated to >= 0.97) answered",
    )


ImageSource = Literal["decoded", "nearest"]
IMAGE_SOURCE = (
    "`decoded`: the model decoded the latent; `nearest` (a model without a decoder): the "
    "stored image of the dataset item nearest the latent"
)


class PlacedOut(BaseModel):
    latent: Latent
    positions: dict[str, tuple[float, float]] = Field(
        description="the latent's place on each projection"
    )
    image: str | None = Field(
        description="PNG data URL: the decoded image, or without a decoder the nearest item's "
        "(see image_source); null when that item has no image (embeddings without images)"
    )
    neighbours: NeighboursOut | None = None
    image_source: ImageSource = Field("decoded", description=IMAGE_SOURCE)
    nearest_id: int | None = Field(
        None, description="with image_source `nearest`: the dataset item shown"
    )
    nearest_name: str | None = Field(None, description="that item's name")


class EncodedOut(PlacedOut):
    reconstruction_error: float | None = Field(
        description="mean squared error of the reconstruction; null without a decoder"
    )
    error_percentile: float | None = Field(
        description="share of dataset items (in %) reconstructed at least as well: an anomaly "
        "score; null without a decoder"
    )
    input: str = Field(description="the upload as the model sees it (resized), PNG data URL")
    filename: str | None = None


class EncodeOut(BaseModel):
    items: list[EncodedOut]


class HealthOut(BaseModel):
    status: Literal["ok", "starting"]
    device: str
    models: list[str]
    failed: dict[str, str] = Field(default_factory=dict)


class ModelOut(BaseModel):
    name: str
    architecture: str
    dataset: dict[str, Any]
    latent_dim: int
    image_shape: tuple[int, int, int]
    n_items: int
    quality: dict[str, Any]
    projections: list[str]
    default_projection: str = Field(description="the projection the page shows first")
    label_field: str | None
    label_names: list[str]
    metadata_fields: dict[str, Literal["category", "number"]]
    latent_std: list[float] = Field(description="per-dimension standard deviation of the latents")
    can_encode: bool = Field(description="images can be uploaded and encoded")
    can_decode: bool = Field(
        description="latents can be decoded; without a decoder the explorer answers clicks, "
        "drags and paths with the nearest real images"
    )
    has_images: bool = Field(description="the items have images (thumbnails, nearest images)")


class ModelsOut(BaseModel):
    models: list[ModelOut]


class ItemOut(BaseModel):
    id: int
    name: str
    label_field: str | None
    label: str | None = Field(description="the item's class name, when the dataset has labels")
    reconstruction_error: float | None = Field(
        description="the item's reconstruction MSE; null when the model has no decoder"
    )
    metadata: dict[str, str | float | None] = Field(
        description="the item's metadata; null for a missing number (a gap in a metadata.csv)"
    )
    positions: dict[str, tuple[float, float]] = Field(description="the item on each projection")


class NamesOut(BaseModel):
    count: int
    names: list[str] = Field(description="every item's name; item ids are the positions")


class DecodeIn(RefIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"point": [1.5, -0.3], "projection": "umap"}, {"latent": [0.0] * 8}]
        },
    )


class InterpolateIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"start": {"id": 0}, "end": {"id": 1}, "steps": 8, "method": "slerp"}]
        },
    )
    start: RefIn
    end: RefIn
    steps: int = Field(8, description="2 to 64 frames, endpoints included")
    method: str = Field("slerp", description="lerp or slerp")
    projection: str | None = Field(None, max_length=32, description="where to draw the path")


class InterpolateOut(BaseModel):
    method: str
    projection: str
    latents: list[Latent]
    positions: list[tuple[float, float]]
    images: list[str | None] = Field(
        description="PNG data URLs, one per step: decoded, or the nearest items' (see "
        "image_source); null for an item without an image"
    )
    image_source: ImageSource = Field("decoded", description=IMAGE_SOURCE)
    nearest_ids: list[int] | None = Field(
        None, description="with image_source `nearest`: the item shown at each step"
    )
    nearest_names: list[str] | None = Field(None, description="those items' names")


class AttributeOut(BaseModel):
    id: str
    name: str
    kind: Literal["value", "pair", "factor", "custom"]
    field: str | None
    vector: Latent
    effect_size: float = Field(description="Cohen's d of the two groups along the vector")
    n_a: int
    n_b: int


class AttributesOut(BaseModel):
    attributes: list[AttributeOut]


class AttributeIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "thick strokes", "group_a": [1, 2, 3], "group_b": [4, 5]}]
        },
    )
    name: str = Field("", max_length=100)
    # Item ids are JSON integers: `true` or `"3"` is refused (422), not read as 1 or 3.
    group_a: list[StrictInt] = Field(max_length=1_000_000)
    group_b: list[StrictInt] = Field(max_length=1_000_000)


class TermIn(Strict):
    attribute: str | None = Field(None, max_length=200, description="an attribute id")
    vector: Latent | None = Field(None, max_length=MAX_LATENT)
    weight: float = 1.0


class AnalogyIn(Strict):
    a: RefIn
    b: RefIn
    c: RefIn


class ArithmeticIn(Strict):
    """Either ``start`` + ``terms`` or an ``analogy`` (a - b + c)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"start": {"id": 3}, "terms": [{"attribute": "digit:8-3", "weight": 1.0}], "k": 5},
                {"analogy": {"a": {"id": 1}, "b": {"id": 2}, "c": {"id": 3}}},
            ]
        },
    )
    start: RefIn | None = None
    terms: list[TermIn] = Field(default_factory=list, max_length=64)
    analogy: AnalogyIn | None = None
    k: int = Field(8, description="neighbours to return, 0 to 1000")
    metric: str = "euclidean"


class NeighboursIn(RefIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": 5, "k": 10, "metric": "euclidean"}]},
    )
    k: int = Field(10, description="1 to 1000")
    metric: str = Field("euclidean", description="euclidean or cosine")


class TraverseIn(Strict):
    """A grid around ``start``: one row per latent dimension, or per listed attribute."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"start": {"id": 0}, "steps": 7, "radius": 3.0},
                {"start": {"id": 0}, "attributes": ["digit:1-7"]},
            ]
        },
    )
    start: RefIn
    attributes: list[str] | None = Field(
        None, min_length=1, max_length=32, description="attribute ids; default: every dimension"
    )
    steps: int = Field(7, description="images per row, 3 to 15")
    radius: float = Field(3.0, description="reach in standard deviations, up to 10")


class TraverseRowOut(BaseModel):
    label: str
    offsets: list[float]
    images: list[str] = Field(description="PNG data URLs")


class TraverseOut(BaseModel):
    rows: list[TraverseRowOut]


class ErrorDetail(Strict):
    status: int = Field(description="the HTTP status code, repeated", examples=[422])
    code: str = Field(
        description="a stable snake_case name of what went wrong, for clients to branch on",
        examples=["wrong_latent_size"],
    )
    message: str = Field(
        description="what was wrong and what is allowed, for people",
        examples=["latent has 3 values but model 'digits-vae-8' has a latent size of 8"],
    )


class ErrorOut(Strict):
    """The one shape of every error the API returns (app/errors.py makes it)."""

    error: ErrorDetail


class OutlierOut(BaseModel):
    id: int
    name: str
    error: float = Field(description="the item's reconstruction MSE")
    label: str | None = Field(description="the item's class name, when the dataset has labels")
    percentile: float = Field(
        description="share of items (in %) reconstructed at least as well (100: the worst)"
    )


class OutliersOut(BaseModel):
    model: str
    count: int = Field(description="how many items the model has")
    outliers: list[OutlierOut] = Field(description="largest reconstruction error first")


class FigureOut(BaseModel):
    key: str = Field(description="the quality figure, e.g. `trustworthiness.umap`")
    label: str
    a: float | None = Field(description="model a's figure; null where it has none")
    b: float | None = Field(description="model b's figure; null where it has none")
    better: Literal["higher", "lower"]


class CompareOut(BaseModel):
    a: str
    b: str
    n_items: int
    aligned: bool = Field(
        description="the two models index the same items in the same order (item ids match); "
        "always true here, since models that do not are a 409 `not_comparable`"
    )
    figures: list[FigureOut]


class ComparableOut(BaseModel):
    model: str
    comparable: list[str] = Field(
        description="other loaded models on the same items, in load order: each can be "
        "compared with this one (`GET /api/compare`)"
    )
