/* libFuzzer harness: WireGuard keys as netd reads them from key files, `netd pubkey`'s stdin,
 * trust entries and authority keys. A key that is taken prints back to exactly the text it
 * came from, surrounding whitespace aside (the encoding is canonical), and the text of any
 * 32 bytes is taken back as those bytes. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netd/key.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (key_init() < 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char b64[KEY_BASE64_SIZE];
	size_t len = size;

	if (key_from_base64(key, text, size) == 0) {
		while (len > 0 && isspace((unsigned char)text[0])) {
			text++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)text[len - 1]))
			len--;
		key_to_base64(b64, key);
		if (len != KEY_BASE64_LEN || memcmp(b64, text, len) != 0)
			abort();
	}
	if (size >= KEY_LEN) {
		key_to_base64(b64, data);
		if (strlen(b64) != KEY_BASE64_LEN ||
		    key_from_base64(back, b64, KEY_BASE64_LEN) != 0 ||
		    memcmp(back, data, KEY_LEN) != 0)
			abort();
	}
	return 0;
}
