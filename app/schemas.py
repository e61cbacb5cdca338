"""Request and response bodies (pydantic). "models" in this project means PyTorch models only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue
from pydantic.config import JsonDict

from app.services.arithmetic import MAX_WEIGHT
from app.services.neighbors import METRICS
from app.services.paths import MAX_STEPS, METHODS, MIN_STEPS
from app.services.refs import LATENT_LIMIT, MAX_COORDINATE, MAX_K
from app.services.traversal import MAX_RADIUS, MAX_TRAVERSE_STEPS, MIN_TRAVERSE_STEPS
from models.base import MIN_MAPPED_DIM
from models.embeddings import MAX_EMBEDDING_DIM

# The widest latent of any entry: imported embeddings (trained models stop at
# models.base.MAX_LATENT_DIM); a latent of the wrong length for its model is refused later.
MAX_LATENT = MAX_EMBEDDING_DIM

Latent = list[float]


def _json_integer(value: Any) -> Any:
    """An item id must be a JSON number: ``true`` or ``"3"`` would otherwise be read as item
    1 or 3. A number with no fraction (``3.0``) is an integer to JSON Schema, and stays one."""
    if isinstance(value, bool | str | bytes):
        raise ValueError("an item id is a JSON integer, not true/false or text")
    return value


ItemId = Annotated[int, BeforeValidator(_json_integer)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def exactly_one_of(*fields: str) -> list[JsonValue]:
    """The OpenAPI ``oneOf`` for a body that takes exactly one of ``fields``: one branch per
    field, which must be there and not null while the others are absent or null (the server
    reads a null as absent). Only the document says so: the check itself stays in the
    services, with its own error code (``bad_reference``, ``bad_term``, ``bad_arithmetic``)."""
    branches: list[JsonValue] = [
        {
            "required": [field],
            "properties": {
                other: {"not": {"type": "null"}} if other == field else {"type": "null"}
                for other in fields
            },
        }
        for field in fields
    ]
    return branches


# Static bounds shown in the document; the services check them with their own error codes.
LATENT_ITEMS: JsonDict = {"type": "number", "minimum": -LATENT_LIMIT, "maximum": LATENT_LIMIT}
COORDINATE: JsonDict = {"type": "number", "minimum": -MAX_COORDINATE, "maximum": MAX_COORDINATE}
PER_MODEL_LATENT = (
    "exactly the model's `latent_dim` values (GET /api/models/{model}), each within "
    f"+-{LATENT_LIMIT:g}"
)
PER_MODEL_PROJECTION = (
    "one of the model's `projections` (GET /api/models/{model}; e.g. `pca`, `umap`)"
)
PER_MODEL_ITEM = "a dataset item id: 0 to the model's `n_items` - 1 (GET /api/models/{model})"
REF_ONE_OF = exactly_one_of("id", "latent", "point")


class RefIn(Strict):
    """A place in latent space: give exactly one of ``id``, ``latent`` or ``point``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": REF_ONE_OF})

    id: ItemId | None = Field(None, ge=0, description=PER_MODEL_ITEM, examples=[7])
    latent: Latent | None = Field(
        None,
        max_length=MAX_LATENT,
        description=f"a latent vector: {PER_MODEL_LATENT}",
        # In the document only: a latent too short keeps its own code, wrong_latent_size.
        json_schema_extra={"items": LATENT_ITEMS, "minItems": MIN_MAPPED_DIM},
    )
    point: tuple[float, float] | None = Field(
        None,
        description="2D point [x, y] on a projection; decoded through the index's inverse map",
        json_schema_extra={"items": COORDINATE},  # both coordinates: one bound
    )
    projection: str | None = Field(
        None,
        max_length=32,
        description=f"projection of `point`: {PER_MODEL_PROJECTION}; default: the model's "
        "`default_projection`",
        examples=["umap"],
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


ImageSource = Literal["decoded", "fitted_decoder", "nearest"]
IMAGE_SOURCE = (
    "`decoded`: the model decoded the latent; `fitted_decoder`: a decoder fitted afterwards "
    "to the model's latents (`latent-explorer fit-decoder`) decoded it; `nearest` (a model "
    "without a decoder): the stored image of the dataset item nearest the latent"
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


class DenoisingOut(BaseModel):
    noise: str = Field(
        description="the corruption, KIND:LEVEL: a denoising model's own training noise, "
        "`gaussian:0.3` for every other decoding model"
    )
    psnr: float = Field(description="PSNR (dB) of the decoded corrupted images against the clean")
    input_psnr: float = Field(description="PSNR (dB) of the corrupted images themselves")


class QualityOut(BaseModel):
    """A model's quality figures, measured when its index was built (docs/objectives.md has
    every formula). A figure is null where it does not apply: no decoder, no labels, no
    images, no encoder, not the shapes dataset."""

    n_items: int
    reconstruction_mse: float | None = Field(
        None, description="mean squared reconstruction error per pixel (pixels in [0, 1])"
    )
    reconstruction_mse_p95: float | None = Field(
        None, description="95th percentile of the items' reconstruction errors"
    )
    reconstruction_psnr: float | None = Field(
        None, description="10 log10(1 / reconstruction_mse), in dB"
    )
    knn_accuracy: float | None = Field(
        None, description="k-NN (k=5) label accuracy, 5-fold cross-validated over all items"
    )
    knn_accuracy_pixels: float | None = Field(
        None, description="the same on raw pixels, for reference"
    )
    split: str | None = Field(
        None,
        description="where the split figures are scored: `held-out` (fitted on the items the "
        "encoder trained on, scored on those it never saw) or `all items, cross-validated` "
        "(models with no recorded split, such as imports)",
    )
    split_n_test: int | None = Field(None, description="how many items the split scores")
    split_knn_accuracy: float | None = Field(
        None, description="k-NN (k=5) label accuracy on the split"
    )
    probe_accuracy: float | None = Field(
        None, description="linear-probe (logistic regression) label accuracy on the split"
    )
    alignment: float | None = Field(
        None,
        description="mean squared distance of the L2-normalised latents of two augmented views "
        "of an image (0 to 4, lower: views agree); needs an encoder and images",
    )
    uniformity: float | None = Field(
        None,
        description="log of the mean of exp(-2 |u - v|^2) over pairs of L2-normalised latents "
        "(0: collapsed to a point; more negative: spread more evenly)",
    )
    latent_std_ratio: float | None = Field(
        None,
        description="smallest over largest per-dimension standard deviation of the latents "
        "(near 0: some dimensions collapsed)",
    )
    denoising: DenoisingOut | None = Field(None, description="with a decoder")
    factor_r2: dict[str, float] | None = Field(
        None, description="k-NN regression R^2 of each numeric metadata column, cross-validated"
    )
    shape_factor_r2: dict[str, float] | None = Field(
        None,
        description="shapes: k-NN regression R^2 on the split of x, y, scale and rotation (as "
        "sin and cos of the angle times the shape's symmetry order)",
    )
    shape_accuracy: float | None = Field(
        None, description="shapes: k-NN (k=5) shape accuracy on the split"
    )
    trustworthiness: dict[str, float] = Field(
        default_factory=dict, description="per projection: how well the map keeps neighbours"
    )
    faithfulness: dict[str, float] | None = Field(
        None, description="per projection: mean share of 10 latent neighbours kept on the map"
    )


class FittedHeldoutOut(BaseModel):
    items: int = Field(description="held-out items the figures are measured on")
    source: str = Field(
        description="which items: the model's recorded training.holdout_ids, or a seeded share"
    )
    mse: float = Field(description="mean per-pixel squared error of the reconstructions")
    psnr: float = Field(
        description="10 log10(1 / mse), dB: how much of the image the latent retains"
    )
    mean_image_mse: float = Field(description="the same error for the training items' mean image")
    mean_image_psnr: float = Field(
        description="its PSNR, dB: what a latent that kept nothing scores"
    )


class FittedDecoderOut(BaseModel):
    heldout: FittedHeldoutOut
    epochs_run: int | None
    seed: int | None


class ModelOut(BaseModel):
    name: str
    architecture: str
    dataset: dict[str, Any]
    latent_dim: int
    image_shape: tuple[int, int, int]
    n_items: int
    quality: QualityOut
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
    decoder_source: Literal["own", "fitted", "none"] = Field(
        description="where decoded images come from: the model's `own` decoder, one `fitted` "
        "to its latents afterwards (`latent-explorer fit-decoder`), or `none`"
    )
    fitted_decoder: FittedDecoderOut | None = Field(
        description="the fitted decoder's figures; null unless decoder_source is `fitted`"
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


class ThumbnailsOut(BaseModel):
    model: str
    ids: list[int] = Field(description="the item ids asked for, in the order asked")
    images: list[str] = Field(
        description="each item's stored image as a PNG data URL (`data:image/png;base64,...`)"
    )


class DecodeIn(RefIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"point": [1.5, -0.3], "projection": "umap"}, {"latent": [0.0] * 8}],
            "oneOf": REF_ONE_OF,
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
    steps: int = Field(
        8,
        description=f"{MIN_STEPS} to {MAX_STEPS} frames, endpoints included",
        json_schema_extra={"minimum": MIN_STEPS, "maximum": MAX_STEPS},
    )
    method: str = Field(
        "slerp", description="lerp or slerp", json_schema_extra={"enum": list(METHODS)}
    )
    projection: str | None = Field(
        None, max_length=32, description=f"where to draw the path: {PER_MODEL_PROJECTION}"
    )


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
    group_a: list[ItemId] = Field(
        max_length=1_000_000,
        description=f"at least one item; each {PER_MODEL_ITEM}",
        json_schema_extra={"minItems": 1, "items": {"type": "integer", "minimum": 0}},
    )
    group_b: list[ItemId] = Field(
        max_length=1_000_000,
        description=f"at least one item; each {PER_MODEL_ITEM}",
        json_schema_extra={"minItems": 1, "items": {"type": "integer", "minimum": 0}},
    )


class TermIn(Strict):
    """One term of a sum: exactly one of ``attribute`` or ``vector``, times ``weight``."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"oneOf": exactly_one_of("attribute", "vector")}
    )

    attribute: str | None = Field(
        None,
        max_length=200,
        description="an attribute id of the model (GET /api/models/{model}/attributes)",
    )
    vector: Latent | None = Field(
        None,
        max_length=MAX_LATENT,
        description=f"a direction: {PER_MODEL_LATENT}",
        # In the document only: a latent too short keeps its own code, wrong_latent_size.
        json_schema_extra={"items": LATENT_ITEMS, "minItems": MIN_MAPPED_DIM},
    )
    weight: float = Field(
        1.0,
        description=f"within +-{MAX_WEIGHT:g}",
        json_schema_extra={"minimum": -MAX_WEIGHT, "maximum": MAX_WEIGHT},
    )


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
            ],
            "oneOf": exactly_one_of("start", "analogy"),
        },
    )
    start: RefIn | None = None
    terms: list[TermIn] = Field(default_factory=list, max_length=64)
    analogy: AnalogyIn | None = None
    k: int = Field(
        8,
        description=f"neighbours to return, 0 to {MAX_K} (and at most the model's `n_items`)",
        json_schema_extra={"minimum": 0, "maximum": MAX_K},
    )
    metric: str = Field(
        "euclidean",
        description="euclidean or cosine",
        json_schema_extra={"enum": list(METRICS)},
    )


class NeighboursIn(RefIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id": 5, "k": 10, "metric": "euclidean"}],
            "oneOf": REF_ONE_OF,
        },
    )
    k: int = Field(
        10,
        description=f"1 to {MAX_K} (and below the model's `n_items`)",
        json_schema_extra={"minimum": 1, "maximum": MAX_K},
    )
    metric: str = Field(
        "euclidean",
        description="euclidean or cosine",
        json_schema_extra={"enum": list(METRICS)},
    )


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
        None,
        min_length=1,
        max_length=32,
        description="attribute ids of the model (GET /api/models/{model}/attributes); "
        "default: every dimension",
    )
    steps: int = Field(
        7,
        description=f"images per row, {MIN_TRAVERSE_STEPS} to {MAX_TRAVERSE_STEPS}",
        json_schema_extra={"minimum": MIN_TRAVERSE_STEPS, "maximum": MAX_TRAVERSE_STEPS},
    )
    radius: float = Field(
        3.0,
        description=f"reach in standard deviations, above 0 and up to {MAX_RADIUS:g}",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_RADIUS},
    )


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


class DiagramOut(BaseModel):
    h0: list[tuple[float | None, float | None]] = Field(
        description="H0 bars as (birth, death), by death (birth is always a number, 0); death "
        "null for the component that never dies. A death is the distance at which two groups "
        "of latents join (single linkage)"
    )
    h1: list[tuple[float, float]] = Field(
        description="H1 bars as (birth, death), longest first: loops, born when a ring of "
        "latents closes and dead when it is filled in"
    )


class ClassTopologyOut(DiagramOut):
    label: str
    n_items: int


class TopologyOut(DiagramOut):
    model: str
    n_items: int
    n_landmarks: int = Field(description="the latents the diagrams are computed on")
    landmark_ids: list[int] = Field(description="their item ids, in sampling order")
    cover_radius: float = Field(
        description="the largest distance from any latent to its nearest landmark: features "
        "shorter than about this are below the subsample's resolution"
    )
    n_classes: int = Field(description="how many labels the dataset has (0 without labels)")
    classes: list[ClassTopologyOut] = Field(
        description="each class's own diagrams (on at most 500 landmarks of that class); "
        "empty without labels or past 50 labels"
    )
    seconds: float = Field(description="how long the computation took, in the analysis process")


class TopologyGroupsOut(BaseModel):
    model: str
    bar: int
    scale: float = Field(description="the H0 bar's death: the distance at which the groups join")
    groups: tuple[list[int], list[int]] = Field(
        description="the item ids of the two groups that join there; an item outside the "
        "landmarks belongs to its nearest landmark's group"
    )


class TopologyLoopOut(BaseModel):
    model: str
    bar: int
    ids: list[int] = Field(
        description="the landmarks on the edges of the bar's representative cocycle: where "
        "the loop is, approximately (a cocycle cuts the loop rather than traces it)"
    )


class TopologyDistanceOut(BaseModel):
    a: str
    b: str
    h0: dict[str, float] = Field(
        description="`bottleneck` and `wasserstein` between the H0 diagrams, on the 200 longest "
        "finite bars of each; `bottleneck_error` bounds what the bars left out could change "
        "the bottleneck figure by (half the longest bar left out of each diagram, summed)"
    )
    h1: dict[str, float] = Field(description="the same for the H1 diagrams")
