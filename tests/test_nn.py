import pytest
import torch
import torch.nn.functional as F

from sk3kg.nn import ContrastiveModel, NTXentLoss, ResNet1d, build_encoder


@pytest.fixture(autouse=True)
def _seeded_weights():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        yield


@pytest.mark.parametrize("length", [16, 777, 1000, 5000])
def test_encoder_embeds_any_length_from_its_minimum(length):
    encoder = ResNet1d(12).eval()
    assert encoder.min_length == 16
    assert encoder(torch.randn(2, 12, length)).shape == (2, encoder.embedding_dim)


@pytest.mark.parametrize(("width", "n_stages", "dim"), [(16, 4, 128), (8, 3, 32), (32, 4, 256)])
def test_embedding_size_follows_width_and_stages(width, n_stages, dim):
    assert ResNet1d(12, width=width, n_stages=n_stages, depth=1).embedding_dim == dim


def test_residual_blocks_start_as_identities():
    encoder = ResNet1d(12, n_stages=1).eval()
    block = encoder.stages[0]
    x = torch.randn(2, 16, 50).relu()
    torch.testing.assert_close(block(x), x)


def test_shared_lead_mode_is_invariant_to_lead_order():
    encoder = build_encoder(12, lead_mode="shared", width=8).eval()
    x = torch.randn(3, 12, 200)
    torch.testing.assert_close(encoder(x), encoder(x[:, torch.randperm(12)]), atol=1e-5, rtol=0)


def test_channels_lead_mode_sees_which_lead_is_which():
    encoder = build_encoder(12, lead_mode="channels", width=8).eval()
    x = torch.randn(3, 12, 200)
    assert not torch.allclose(encoder(x), encoder(x.flip(1)), atol=1e-4)


def test_unknown_lead_mode_is_refused():
    with pytest.raises(ValueError, match="lead_mode='all'"):
        build_encoder(12, lead_mode="all")


def test_projection_head_maps_to_projection_dim():
    model = ContrastiveModel(build_encoder(12, width=8), projection_dim=64)
    assert model(torch.randn(4, 12, 100)).shape == (4, 64)


def _simclr_reference(projections, temperature):
    """NT-Xent as SimCLR writes it: cross-entropy with the other view as the label."""
    n = projections.shape[0] // 2
    z = F.normalize(projections, dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    labels = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, labels)


def _supervised_reference(projections, groups, temperature):
    """The supervised-contrastive form, one anchor at a time."""
    rows = torch.cat([groups, groups])
    z = F.normalize(projections, dim=1)
    losses = []
    for i in range(len(rows)):
        others = [j for j in range(len(rows)) if j != i]
        log_prob = (z[i] @ z[others].T / temperature).log_softmax(dim=0)
        positive = torch.tensor([rows[j] == rows[i] for j in others])
        losses.append(-log_prob[positive].mean())
    return torch.stack(losses).mean()


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_ntxent_without_groups_equals_simclr_cross_entropy(temperature):
    projections = torch.randn(16, 32, dtype=torch.float64)
    loss = NTXentLoss(temperature)(projections)
    torch.testing.assert_close(loss, _simclr_reference(projections, temperature))


def test_ntxent_with_distinct_groups_equals_plain_ntxent():
    projections = torch.randn(12, 8, dtype=torch.float64)
    loss = NTXentLoss()
    torch.testing.assert_close(loss(projections, torch.arange(6) * 10), loss(projections))


def test_ntxent_counts_every_view_of_a_shared_group_as_positive():
    projections = torch.randn(12, 8, dtype=torch.float64)
    groups = torch.tensor([0, 0, 1, 2, 2, 2])
    torch.testing.assert_close(
        NTXentLoss(0.2)(projections, groups), _supervised_reference(projections, groups, 0.2)
    )


def test_ntxent_rewards_matching_views():
    z = torch.randn(8, 16)
    loss = NTXentLoss()
    assert loss(torch.cat([z, z])) < loss(torch.cat([z, torch.randn(8, 16)]))


@pytest.mark.parametrize(("shape", "message"), [((5, 4), "two views"), ((4,), "two views")])
def test_ntxent_refuses_what_is_not_two_views(shape, message):
    with pytest.raises(ValueError, match=message):
        NTXentLoss()(torch.randn(*shape))


def test_ntxent_refuses_groups_of_the_wrong_length():
    with pytest.raises(ValueError, match="groups has 3 entries for 4 samples"):
        NTXentLoss()(torch.randn(8, 4), torch.arange(3))


def test_ntxent_refuses_a_non_positive_temperature():
    with pytest.raises(ValueError, match="temperature must be positive"):
        NTXentLoss(0.0)
