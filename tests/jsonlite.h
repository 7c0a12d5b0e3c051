/* Test helpers: a small JSON parser with a JSON Schema (draft-07 subset) validator,
 * and a small XML parser, so that outputs are checked by structure, not by grep.
 * Schema keywords: type, required, properties, additionalProperties (false), items,
 * enum, const, minimum, minItems, oneOf, $ref "#/definitions/NAME". */
#ifndef BD_JSONLITE_H
#define BD_JSONLITE_H

#include <stddef.h>

typedef enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_kind;

typedef struct jv jv;
struct jv {
	jv_kind kind;
	int b;
	double num;
	int is_int;
	char *str;      /* JV_STR */
	jv **items;     /* JV_ARR values, JV_OBJ values */
	char **keys;    /* JV_OBJ keys */
	size_t n;
};

/* Parse text; NULL on a syntax error (message in err). Free with jv_free. */
jv *jv_parse(const char *text, char *err, size_t errcap);
void jv_free(jv *v);
/* Object member or NULL. */
const jv *jv_get(const jv *obj, const char *key);
/* Validate v against schema; 0 when valid, else -1 with the path and reason in err. */
int jv_validate(const jv *schema, const jv *v, char *err, size_t errcap);

/* ---- XML ---- */
typedef struct xnode xnode;
struct xnode {
	char *name;
	char **attr_names, **attr_values;
	size_t nattrs;
	xnode **children;
	size_t nchildren;
	char *text;     /* character data, entities decoded, concatenated */
};

/* Parse a document (optional <?xml ...?> prolog, one root element). Checks that tags
 * balance, attributes are quoted and unique, entities are known, and no control
 * characters appear. NULL on error (message in err). */
xnode *xml_parse(const char *text, char *err, size_t errcap);
void xml_free(xnode *n);
const char *xml_attr(const xnode *n, const char *name);
/* Children named name: count, and the i-th. */
size_t xml_count(const xnode *n, const char *name);
const xnode *xml_child(const xnode *n, const char *name, size_t i);

#endif
