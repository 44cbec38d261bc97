"""Our VGG-16 `features` is torchvision's, module for module, and the ImageNet weights are the
file torchvision's weights API names (we build it ourselves only to avoid importing
torchvision.models in every pipeline job)."""

import torch
from torchvision.models import VGG16_Weights, vgg16

from salloss.models import vgg


def test_features_match_torchvision_vgg16():
    ours = vgg.vgg16_features("none", seed=0)
    theirs = vgg16(weights=None).features
    assert repr(ours) == repr(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    # torchvision's full state dict (features.* + classifier.*) loads into ours via a file
    assert ours[vgg.POOL_INDICES[-1]].__class__ is torch.nn.MaxPool2d


def test_imagenet_file_is_torchvisions(tmp_path):
    assert VGG16_Weights.IMAGENET1K_V1.url == vgg.IMAGENET_URL
    state = vgg16(weights=None).state_dict()
    path = tmp_path / "vgg16.pth"
    torch.save(state, path)
    loaded = vgg.vgg16_features(path)
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[f"features.{k}"])
