"""A stream of byte parts into one S3 object: one PutObject when it is small, else a multipart upload whose
parts go up in parallel while the next one is read.

Memory is bounded by the parts alive at once: ``concurrency`` parts in flight, one being read and, at the
start, one read ahead to choose PutObject or multipart; whatever the object's size. Each part is one
``bytes`` object handed to botocore as is (no second copy on the way to the socket).

The parts come from an iterator the caller owns; an exception it raises (a broken or truncated download)
stops the upload before it completes: the multipart upload is aborted and the exception propagates as is.
An S3 failure propagates as botocore raised it, after the abort, for the caller to classify. The abort is
best effort (logged): the caller's own sweep of unfinished uploads covers an abort that failed too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from botocore.httpchecksum import DEFAULT_CHECKSUM_ALGORITHM

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: S3's limit of parts per upload (each but the last must also be at least 5 MiB: the caller's plan).
MAX_PARTS = 10_000


@dataclass(frozen=True)
class PartPlan:
    """How a stream is cut: below ``threshold`` bytes one PutObject, else parts of at least ``part_bytes``
    with up to ``concurrency`` of them uploading at once."""

    threshold: int = 8 * MIB
    part_bytes: int = 8 * MIB
    concurrency: int = 4

    def for_size(self, max_bytes: int | None) -> PartPlan:
        """This plan, with parts large enough for ``max_bytes`` to fit in S3's 10,000 parts."""
        if max_bytes is None:
            return self
        needed = -(-max_bytes // MAX_PARTS)
        return self if needed <= self.part_bytes else PartPlan(self.threshold, needed, self.concurrency)


def _checksum_args(s3: Any) -> dict[str, str]:
    # As s3transfer does: with botocore computing checksums by default, a multipart upload declares its
    # algorithm up front and CompleteMultipartUpload lists each part's checksum.
    if getattr(s3.meta.config, "request_checksum_calculation", None) == "when_supported":
        return {"ChecksumAlgorithm": DEFAULT_CHECKSUM_ALGORITHM.upper()}
    return {}


def upload_stream(
    s3: Any, bucket: str, key: str, parts: Iterator[bytes], *, plan: PartPlan, extra: Mapping[str, Any]
) -> None:
    """Upload the concatenation of ``parts`` (each at least ``plan.part_bytes`` but the last) to
    ``s3://bucket/key`` with ``extra`` (ContentType, Metadata...) as PutObject/CreateMultipartUpload args."""
    first = next(parts, b"")
    if len(first) < plan.threshold:
        following = next(parts, None)
        if following is None:
            s3.put_object(Bucket=bucket, Key=key, Body=first, **extra)
            return
        head = [first, following]
    else:
        head = [first]
    del first
    _Multipart(s3, bucket, key, plan, extra).run(head, parts)


class _Multipart:
    def __init__(self, s3: Any, bucket: str, key: str, plan: PartPlan, extra: Mapping[str, Any]) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._plan = plan
        self._extra = dict(extra)
        self._checksum = _checksum_args(s3)
        self._upload_id = ""

    def run(self, head: list[bytes], rest: Iterator[bytes]) -> None:
        created = self._s3.create_multipart_upload(
            Bucket=self._bucket, Key=self._key, **self._extra, **self._checksum
        )
        self._upload_id = created["UploadId"]
        pool = ThreadPoolExecutor(max_workers=self._plan.concurrency, thread_name_prefix="s3-part")
        try:
            done = self._send_all(pool, head, rest)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            self._abort()
            raise
        pool.shutdown(wait=True)
        done.sort(key=lambda p: int(p["PartNumber"]))
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": done}
            )
        except BaseException:
            self._abort()
            raise

    def _send_all(
        self, pool: ThreadPoolExecutor, head: list[bytes], rest: Iterator[bytes]
    ) -> list[dict[str, Any]]:
        done: list[dict[str, Any]] = []
        inflight: set[Future[dict[str, Any]]] = set()
        number = 0
        while True:
            part = head.pop(0) if head else next(rest, None)
            if part is None:
                break
            number += 1
            if number > MAX_PARTS:
                raise ValueError(f"{self._key}: more than {MAX_PARTS} parts of {self._plan.part_bytes} bytes")
            finished = {f for f in inflight if f.done()}
            while len(inflight) - len(finished) >= self._plan.concurrency:
                more, _ = wait(inflight - finished, return_when=FIRST_COMPLETED)
                finished |= more
            for future in finished:
                done.append(future.result())  # raises the part's S3 failure
            inflight -= finished
            inflight.add(pool.submit(self._send, number, part))
            del part  # the worker holds the only reference: freed once sent
        for future in inflight:
            done.append(future.result())
        return done

    def _send(self, number: int, body: bytes) -> dict[str, Any]:
        answer = self._s3.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
            **self._checksum,
        )
        part = {"ETag": answer["ETag"], "PartNumber": number}
        member = f"Checksum{self._checksum.get('ChecksumAlgorithm', '')}"
        if self._checksum and member in answer:
            part[member] = answer[member]
        return part

    def _abort(self) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except Exception as exc:  # the caller sweeps unfinished uploads again
            log.warning(
                "abort of a failed multipart upload failed", extra={"key": self._key, "error": repr(exc)}
            )
