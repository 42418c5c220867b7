#!/usr/bin/python3
"""Rewrites an HDF5 file's fixed-length ASCII string datasets and its string attributes (h5py's
defaults for numpy 'S' arrays and Python str) as fixed-length UTF-8 strings, the type dhs's own
files use and the only one core/hdf5's ResultReader reads (HDF5 1.10 converts no string between
character sets). Used on tests/mpi_stages/train/make_fixture.py's output by
train_export_test.sh and benchmarks/run_train.sh; a no-op on a file dhs wrote.

    h5_strings_utf8.py FILE.h5
"""
import sys

import h5py
import numpy as np


def to_utf8(path):
    with h5py.File(path, "r+") as f:
        names = [""]
        f.visititems(lambda n, o: names.append(n))
        for name in names:
            obj = f[name] if name else f
            for k in list(obj.attrs):
                v = obj.attrs[k]
                if isinstance(v, (str, bytes)):
                    b = v.encode() if isinstance(v, str) else v
                    del obj.attrs[k]
                    obj.attrs.create(k, data=np.array(b), dtype=h5py.string_dtype("utf-8", max(1, len(b))))
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "S" and obj.id.get_type().get_cset() != h5py.h5t.CSET_UTF8:
                data, attrs = obj[()], dict(obj.attrs)
                parent, leaf = obj.parent, name.rsplit("/", 1)[-1]
                del parent[leaf]
                ds = parent.create_dataset(leaf, shape=data.shape, dtype=h5py.string_dtype("utf-8", data.dtype.itemsize))
                # the bytes as they are, under the UTF-8 file type (h5py will not convert them)
                ds.id.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data), mtype=ds.id.get_type())
                for k, v in attrs.items():
                    ds.attrs[k] = v


if __name__ == "__main__":
    to_utf8(sys.argv[1])
