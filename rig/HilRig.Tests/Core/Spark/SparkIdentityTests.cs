using HilRig.Core.Spark;

namespace HilRig.Tests.Spark;

public class SparkIdentityTests
{
    [Test]
    public void Dfu_serial_of_a_forum_device_id_matches_the_bootloader_formula()
    {
        Assert.That(SparkIdentity.DfuSerial("55ff6a065075555344121787"), Is.EqualTo("8D8211995355"));
    }

    [Test]
    public void Dfu_serial_wraps_the_32_bit_sum_and_is_twelve_uppercase_hex_digits()
    {
        // w0 = 0xFFFFFFFF, w2 = 0x00000002 -> sum wraps to 0x00000001; w1 = 0xABCD0000 -> ABCD.
        var serial = SparkIdentity.DfuSerial("ffffffff0000cdab02000000");
        Assert.That(serial, Is.EqualTo("00000001ABCD"));
    }

    [Test]
    public void Device_id_and_uid_bytes_round_trip_in_memory_order()
    {
        var uid = SparkIdentity.ToUidBytes("54FF73066672524813250167");
        Assert.That(uid[0], Is.EqualTo(0x54));
        Assert.That(uid[11], Is.EqualTo(0x67));
        Assert.That(SparkIdentity.FromUidBytes(uid), Is.EqualTo("54ff73066672524813250167"));
    }

    [TestCase("55ff6a06507555534412178", "23 characters")]
    [TestCase("55ff6a0650755553441217870", "25 characters")]
    [TestCase("55ff6a06507555534412178g", "'g'")]
    public void Invalid_device_ids_are_refused_with_the_value_and_what_is_valid(string id, string detail)
    {
        var error = SparkIdentity.Validate(id);
        Assert.That(error, Does.Contain(id).And.Contain(detail));
        Assert.That(error, Does.Contain("hex"));
        Assert.That(() => SparkIdentity.ToUidBytes(id), Throws.TypeOf<FormatException>().With.Message.EqualTo(error));
    }

    [Test]
    public void A_valid_id_has_no_error()
    {
        Assert.That(SparkIdentity.Validate("55ff6a065075555344121787"), Is.Null);
        Assert.That(SparkIdentity.Validate(null), Does.Contain("missing"));
    }

    [Test]
    public void Generated_ids_are_valid_and_follow_the_seed()
    {
        var a = SparkIdentity.Generate(new Random(7));
        Assert.That(SparkIdentity.Validate(a), Is.Null);
        Assert.That(a, Does.StartWith("5").And.Match("^5[0-9a-f]ff"));
        Assert.That(SparkIdentity.Generate(new Random(7)), Is.EqualTo(a));
        Assert.That(SparkIdentity.Generate(new Random(8)), Is.Not.EqualTo(a));
    }
}
