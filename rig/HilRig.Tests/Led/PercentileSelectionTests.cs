using HilRig.Core.Led;

namespace HilRig.Tests.Led;

[TestFixture]
public sealed class PercentileSelectionTests
{
    [Test]
    public void Selection_gives_the_value_a_sort_puts_at_each_rank_including_ties()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 200; trial++)
        {
            var count = random.Next(1, 300);
            // few distinct levels: ties as a flat-topped LED gives them
            var values = Enumerable.Range(0, count).Select(_ => (double)random.Next(0, trial % 3 == 0 ? 4 : 1000)).ToList();
            var sorted = values.OrderBy(v => v).ToList();
            var rank = random.Next(count);
            Assert.That(LedClassifier.Select([.. values], rank), Is.EqualTo(sorted[rank]), $"trial {trial}, {count} values, rank {rank}");
        }
    }
}
